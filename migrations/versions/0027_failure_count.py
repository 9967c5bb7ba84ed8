"""wrong answers counted per key, for growing waits

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 11:30:00

Wrong answers on the complaint status page are counted per tracking code, whatever the
address, with the time of the last one (issue 14, item 10).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'failure_count',
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_failure_count')),
    )
    op.create_index(op.f('ix_failure_count_last_failure_at'), 'failure_count',
                    ['last_failure_at'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_failure_count_last_failure_at'), table_name='failure_count')
    op.drop_table('failure_count')
