"""feedback answers: every answer to a complaint kept with its own time

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 10:00:00

A second answer used to replace the first in ``feedback.answer`` and keep the first one's
time. The answers move to their own table (the existing one with the complaint's
``answered_at``, or its closing time); ``feedback.answered_at`` stays the first answer's
time, where the 48-hour clock stops. SQLite drops the column in place (3.35+): the open
count triggers of 0012 do not read it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feedback_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_feedback_answer_author_id_user_account')),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_feedback_answer_feedback_id_feedback'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_answer'))
    )
    with op.batch_alter_table('feedback_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_answer_feedback_id'), ['feedback_id'], unique=False)
    op.execute(
        "INSERT INTO feedback_answer (feedback_id, text, answered_at) "
        "SELECT id, answer, COALESCE(answered_at, closed_at, received_at) FROM feedback "
        "WHERE answer IS NOT NULL")
    op.drop_column('feedback', 'answer')


def downgrade():
    op.add_column('feedback', sa.Column('answer', sa.Text(), nullable=True))
    # The latest answer goes back in the column; the earlier ones are lost.
    op.execute(
        "UPDATE feedback SET answer = (SELECT a.text FROM feedback_answer a "
        "WHERE a.feedback_id = feedback.id ORDER BY a.answered_at DESC, a.id DESC LIMIT 1)")
    with op.batch_alter_table('feedback_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_answer_feedback_id'))
    op.drop_table('feedback_answer')
