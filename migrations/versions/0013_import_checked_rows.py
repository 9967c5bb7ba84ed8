"""import checked rows: the dry run's file checks kept with the batch for the commit

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # ALTER TABLE … ADD COLUMN on both databases: no table is rebuilt.
    op.add_column('import_batch', sa.Column('checked_rows', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_batch', schema=None) as batch_op:
        batch_op.drop_column('checked_rows')
