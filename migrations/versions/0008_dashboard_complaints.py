"""dashboard complaints: unanswered complaints and answers indexed by place

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 08:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

UNANSWERED = sa.text("answered_at IS NULL")


def upgrade():
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_commune_open', ['commune_id', 'due_at'], unique=False,
                              sqlite_where=UNANSWERED, postgresql_where=UNANSWERED)
        batch_op.create_index('ix_feedback_province_open', ['province_id', 'due_at'],
                              unique=False, sqlite_where=UNANSWERED,
                              postgresql_where=UNANSWERED)
        batch_op.create_index('ix_feedback_province_answered', ['province_id', 'answered_at'],
                              unique=False)
        batch_op.create_index('ix_feedback_commune_answered', ['commune_id', 'answered_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_commune_answered')
        batch_op.drop_index('ix_feedback_province_answered')
        batch_op.drop_index('ix_feedback_province_open')
        batch_op.drop_index('ix_feedback_commune_open')
