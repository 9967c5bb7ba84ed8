"""anonymous verifications counted per document and day

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 08:00:00

Anonymous checks on /verify and the QR link become counts in their own table instead of
one hash-chained audit event each (issue 14, item 9).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'verification_count',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['signed_document.id'],
                                name=op.f('fk_verification_count_document_id_signed_document'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('day', 'document_id', 'source',
                                name=op.f('pk_verification_count')),
    )


def downgrade():
    op.drop_table('verification_count')
