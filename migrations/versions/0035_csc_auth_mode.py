"""a CSC credential's authorisation mode and batch size, read from the provider when linked

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 23:30:00

Issue 17: the sign dialog asks for what the provider's ``credentials/info`` says its
authorisation needs (a PIN, an OTP, both), without asking the provider on every page; a
batch of certificates asks for at most as many signatures per authorisation as the
provider allows (its ``multisign``). Plain nullable columns: SQLite adds them without
rebuilding the table.
"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('signing_credential', sa.Column('provider_auth', sa.String(length=20), nullable=True))
    op.add_column('signing_credential', sa.Column('provider_max_batch', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('signing_credential') as batch_op:
        batch_op.drop_column('provider_max_batch')
        batch_op.drop_column('provider_auth')
