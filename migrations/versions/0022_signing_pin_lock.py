"""signing credential locked by wrong PINs

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 06:55:00

Wrong PINs in a row are counted on the signing credential, in the database so that every
worker sees them; five lock it until an administrator unlocks it (issue 14, item 8).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signing_credential', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_pins', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('locked_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('signing_credential', schema=None) as batch_op:
        batch_op.drop_column('locked_at')
        batch_op.drop_column('failed_pins')
