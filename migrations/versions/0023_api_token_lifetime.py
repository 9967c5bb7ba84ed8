"""api tokens expire, can be revoked, and keep their last use

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 07:05:00

A token answers until it expires or is revoked (issue 14, item 11). Tokens made before
this revision get a year from now, so none is left without an end.
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_used_at', sa.DateTime(), nullable=True))
    in_a_year = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=365)
    api_client = sa.table('api_client', sa.column('expires_at', sa.DateTime()))
    op.execute(api_client.update().values(expires_at=in_a_year))
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_client', schema=None) as batch_op:
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
