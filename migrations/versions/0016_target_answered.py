"""target answered: a deadline for every complaint about an area answered (the Ministry
of Health's letters of April 2022)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 13:10:00

The metric's CHECK constraint takes the new value. PostgreSQL replaces the constraint;
SQLite cannot alter one, so the table is rebuilt from the definition below (nothing
references the target table and it has no triggers).
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

NAME = 'ck_target_target_metric'


def _table(values):
    return sa.Table(
        'target', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('metric', sa.String(length=9), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_target'),
        sa.ForeignKeyConstraint(['area_id'], ['area.id'], name='fk_target_area_id_area'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'],
                                name='fk_target_created_by_id_user_account'),
        sa.CheckConstraint(_check(values), name=NAME),
        sa.Index('ix_target_area_id', 'area_id'),
    )


def _check(values):
    return "metric IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _set(values):
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE target DROP CONSTRAINT {NAME}')
        op.execute(f'ALTER TABLE target ADD CONSTRAINT {NAME} CHECK ({_check(values)})')
    else:
        with op.batch_alter_table('target', copy_from=_table(values), recreate='always'):
            pass


def upgrade():
    _set(('cleaned', 'confirmed', 'answered'))


def downgrade():
    op.execute("DELETE FROM target WHERE metric = 'answered'")
    _set(('cleaned', 'confirmed'))
