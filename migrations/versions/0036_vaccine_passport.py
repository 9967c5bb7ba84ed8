"""vaccine passport: the issuer's Document Signers, the passports, the ``issuer`` role

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 23:30:00

Issue 18: the Department of Preventive Medicine issues vaccine passports as EU Digital COVID
Certificates. ``dcc_signer`` keeps each Document Signer Certificate with the label of its
key in the PKCS#11 token (the key never leaves the token); ``passport`` keeps each issued
passport (UVCI, signer, validity, the ``HC1:`` text, the confirmation it was built on), at
most one in force per person. The new role ``issuer`` enters the role CHECK constraints of
``user_account`` and ``mfa_requirement``: PostgreSQL replaces the constraints; SQLite
rebuilds both tables from the definitions below (the migration environment turns foreign
keys off for the copy; neither table has triggers).
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None

OLD_ROLES = ('police', 'health_station', 'committee', 'vaccination_site', 'health_authority',
             'admin', 'national_admin')
NEW_ROLES = OLD_ROLES + ('issuer',)
USER_ROLE = 'ck_user_account_role'
MFA_ROLE = 'ck_mfa_requirement_role'


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _user_table(roles):
    return sa.Table(
        'user_account', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('display_name', sa.String(length=200), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('area_id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        # A column constraint, as 0033 added it: SQLite then drops the column with its
        # CHECK (0033's downgrade), which it cannot do under a table constraint.
        sa.Column('signing_method', sa.String(length=7),
                  sa.CheckConstraint(_in('signing_method', ('server', 'csc', 'browser')),
                                     name='ck_user_account_signing_method'),
                  nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_user_account'),
        sa.ForeignKeyConstraint(['area_id'], ['area.id'], name='fk_user_account_area_id_area'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name='fk_user_account_site_id_site'),
        sa.UniqueConstraint('username', name='uq_user_account_username'),
        sa.CheckConstraint(_in('role', roles), name=USER_ROLE),
        sa.Index('ix_user_account_area_id', 'area_id'),
    )


def _mfa_table(roles):
    return sa.Table(
        'mfa_requirement', sa.MetaData(),
        sa.Column('province_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('province_id', 'role', name='pk_mfa_requirement'),
        sa.ForeignKeyConstraint(['province_id'], ['area.id'],
                                name='fk_mfa_requirement_province_id_area'),
        sa.ForeignKeyConstraint(['set_by_id'], ['user_account.id'],
                                name='fk_mfa_requirement_set_by_id_user_account'),
        sa.CheckConstraint(_in('role', roles), name=MFA_ROLE),
    )


def _set_roles(roles):
    if op.get_bind().dialect.name == 'postgresql':
        for table, name in (('user_account', USER_ROLE), ('mfa_requirement', MFA_ROLE)):
            op.execute(f'ALTER TABLE {table} DROP CONSTRAINT {name}')
            op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({_in('role', roles)})")
    else:
        for table, definition in (('user_account', _user_table), ('mfa_requirement', _mfa_table)):
            with op.batch_alter_table(table, recreate='always', copy_from=definition(roles)):
                pass


def upgrade():
    _set_roles(NEW_ROLES)
    op.create_table(
        'dcc_signer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kid', sa.String(length=16), nullable=False),
        sa.Column('certificate_pem', sa.Text(), nullable=False),
        sa.Column('token_label', sa.String(length=64), nullable=False),
        sa.Column('key_label', sa.String(length=64), nullable=False),
        sa.Column('not_before', sa.DateTime(), nullable=False),
        sa.Column('not_after', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dcc_signer')),
        sa.UniqueConstraint('kid', name=op.f('uq_dcc_signer_kid')),
    )
    op.create_table(
        'passport',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('uvci', sa.String(length=80), nullable=False),
        sa.Column('signer_id', sa.Integer(), nullable=False),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_reason', sa.String(length=32), nullable=True),
        sa.Column('hc1', sa.Text(), nullable=False),
        sa.Column('confirmation_id', sa.Integer(), nullable=True),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE',
                                name=op.f('fk_passport_person_id_person')),
        sa.ForeignKeyConstraint(['signer_id'], ['dcc_signer.id'],
                                name=op.f('fk_passport_signer_id_dcc_signer')),
        sa.ForeignKeyConstraint(['confirmation_id'], ['signed_document_member.id'],
                                ondelete='SET NULL',
                                name=op.f('fk_passport_confirmation_id_signed_document_member')),
        sa.ForeignKeyConstraint(['issued_by_id'], ['user_account.id'],
                                name=op.f('fk_passport_issued_by_id_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_passport')),
        sa.UniqueConstraint('uvci', name=op.f('uq_passport_uvci')),
    )
    op.create_index('ix_passport_person', 'passport', ['person_id', 'revoked_at'])
    op.create_index('ix_passport_expires', 'passport', ['expires_at'])
    op.create_index('ux_passport_person_in_force', 'passport', ['person_id'], unique=True,
                    sqlite_where=sa.text('revoked_at IS NULL'),
                    postgresql_where=sa.text('revoked_at IS NULL'))


def downgrade():
    op.drop_index('ux_passport_person_in_force', table_name='passport')
    op.drop_index('ix_passport_expires', table_name='passport')
    op.drop_index('ix_passport_person', table_name='passport')
    op.drop_table('passport')
    op.drop_table('dcc_signer')
    op.execute("DELETE FROM login_session WHERE user_id IN "
               "(SELECT id FROM user_account WHERE role = 'issuer')")
    op.execute("DELETE FROM mfa_requirement WHERE role = 'issuer'")
    op.execute("UPDATE user_account SET role = 'health_authority', active = false "
               "WHERE role = 'issuer'")
    _set_roles(OLD_ROLES)
