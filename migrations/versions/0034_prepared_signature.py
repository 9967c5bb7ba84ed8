"""prepared signatures: a document prepared on the server, signed by a key in the browser

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 23:00:00

Issue 17: a signer whose key stays in their browser (WebCrypto, or a USB token's plugin)
signs in two steps. The portal prepares the PDF with its signature placeholder and the CMS
signed attributes (pyHanko's interrupted signing), keeps them here, and hands the browser
the signed attributes to sign; the signature it returns is embedded once. A prepared
signature belongs to one user and one credential, is bound to the prepared document's
SHA-256, expires after a few minutes (SIGNING_PREPARED_MINUTES) and is finished once.
"""
from alembic import op
import sqlalchemy as sa


revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'prepared_signature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('credential_id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=True),
        sa.Column('worklist_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('member_ids', sa.JSON(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('level', sa.String(length=8), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('reserved_start', sa.Integer(), nullable=False),
        sa.Column('reserved_end', sa.Integer(), nullable=False),
        sa.Column('document_digest', sa.String(length=64), nullable=False),
        sa.Column('document_sha256', sa.String(length=64), nullable=False),
        sa.Column('signed_attrs', sa.LargeBinary(), nullable=False),
        sa.Column('to_sign_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_prepared_signature')),
        sa.UniqueConstraint('token', name=op.f('uq_prepared_signature_token')),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name=op.f('fk_prepared_signature_user_id_user_account'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['credential_id'], ['signing_credential.id'],
                                name=op.f('fk_prepared_signature_credential_id_signing_credential'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['batch_id'], ['signing_batch.id'],
                                name=op.f('fk_prepared_signature_batch_id_signing_batch'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['worklist_id'], ['worklist.id'],
                                name=op.f('fk_prepared_signature_worklist_id_worklist'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['document_id'], ['signed_document.id'],
                                name=op.f('fk_prepared_signature_document_id_signed_document')),
    )
    op.create_index('ix_prepared_signature_user', 'prepared_signature',
                    ['user_id', 'expires_at'])


def downgrade():
    op.drop_index('ix_prepared_signature_user', table_name='prepared_signature')
    op.drop_table('prepared_signature')
