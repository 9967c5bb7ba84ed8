"""signing methods: remote (CSC) and browser keys beside the server-held ones

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 23:10:00

Issue 17: a person's signature is made where the key is under their sole control (Law on
Electronic Transactions 20/2023/QH15, Decree 23/2025/NĐ-CP): by a remote-signing provider
over the CSC API, or by a key kept in the signer's browser. A credential's backend takes the
values ``csc`` and ``browser``; a CSC credential names its provider and the provider's
credential ID (the private key stays with the provider; a browser credential keeps only the
certificate). The administrator sets each signer's method on the account.

PostgreSQL replaces the backend's CHECK constraint; SQLite rebuilds the table from the
definition below (no table references it, it has no triggers).
"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

BACKEND = 'ck_signing_credential_signer_backend'
METHOD = 'ck_user_account_signing_method'
OLD_BACKENDS = ('pkcs12', 'pkcs11')
NEW_BACKENDS = ('pkcs12', 'pkcs11', 'csc', 'browser')
METHODS = ('server', 'csc', 'browser')


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _credential_table(backends, provider):
    width = max(len(v) for v in backends)
    columns = [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('backend', sa.String(length=width), nullable=False),
        sa.Column('sealed_pkcs12', sa.LargeBinary(), nullable=True),
        sa.Column('token_label', sa.String(length=64), nullable=True),
        sa.Column('key_label', sa.String(length=64), nullable=True),
        sa.Column('certificate_pem', sa.Text(), nullable=False),
        sa.Column('subject', sa.String(length=400), nullable=False),
        sa.Column('serial', sa.String(length=64), nullable=False),
        sa.Column('not_after', sa.DateTime(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('unit', sa.String(length=200), nullable=False),
        sa.Column('demo', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('failed_pins', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_at', sa.DateTime(), nullable=True),
    ]
    if provider:
        columns += [
            sa.Column('provider_url', sa.String(length=300), nullable=True),
            sa.Column('provider_credential_id', sa.String(length=200), nullable=True),
        ]
    return sa.Table(
        'signing_credential', sa.MetaData(),
        *columns,
        sa.PrimaryKeyConstraint('id', name='pk_signing_credential'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'],
                                name='fk_signing_credential_user_id_user_account'),
        sa.CheckConstraint(_in('backend', backends), name=BACKEND),
        sa.Index('ix_signing_credential_user', 'user_id', 'active'),
    )


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE signing_credential DROP CONSTRAINT {BACKEND}')
        op.alter_column('signing_credential', 'backend', type_=sa.String(7),
                        existing_type=sa.String(6), existing_nullable=False)
        op.execute(f"ALTER TABLE signing_credential ADD CONSTRAINT {BACKEND} "
                   f"CHECK ({_in('backend', NEW_BACKENDS)})")
        op.add_column('signing_credential', sa.Column('provider_url', sa.String(300)))
        op.add_column('signing_credential',
                      sa.Column('provider_credential_id', sa.String(200)))
    else:
        with op.batch_alter_table('signing_credential', recreate='always',
                                  copy_from=_credential_table(OLD_BACKENDS, False)) as batch:
            batch.alter_column('backend', type_=sa.String(7), existing_nullable=False)
            batch.add_column(sa.Column('provider_url', sa.String(300)))
            batch.add_column(sa.Column('provider_credential_id', sa.String(200)))
        # The copy keeps the old CHECK; rebuilt once more from the new definition.
        with op.batch_alter_table('signing_credential', recreate='always',
                                  copy_from=_credential_table(NEW_BACKENDS, True)):
            pass
    # SQLite adds a column with its CHECK in one ALTER TABLE; PostgreSQL takes the same.
    op.execute(f"ALTER TABLE user_account ADD COLUMN signing_method VARCHAR(7) "
               f"CONSTRAINT {METHOD} CHECK ({_in('signing_method', METHODS)})")


def downgrade():
    op.execute("DELETE FROM signing_credential WHERE backend IN ('csc', 'browser')")
    # SQLite (3.35 and later) drops a column with its own CHECK in place, as PostgreSQL does.
    op.execute("ALTER TABLE user_account DROP COLUMN signing_method")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE signing_credential DROP CONSTRAINT {BACKEND}')
        op.drop_column('signing_credential', 'provider_credential_id')
        op.drop_column('signing_credential', 'provider_url')
        op.alter_column('signing_credential', 'backend', type_=sa.String(6),
                        existing_type=sa.String(7), existing_nullable=False)
        op.execute(f"ALTER TABLE signing_credential ADD CONSTRAINT {BACKEND} "
                   f"CHECK ({_in('backend', OLD_BACKENDS)})")
    else:
        with op.batch_alter_table('signing_credential', recreate='always',
                                  copy_from=_credential_table(OLD_BACKENDS, False)):
            pass
