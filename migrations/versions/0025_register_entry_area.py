"""register entries carry their commune; the national administrator's role

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 11:20:00

Issue 14, item 1: a register entry names the commune of permanent residence, so that a
commune's police change only their commune's entries and a province's administrator only
their province's; replacing the whole register is for the new ``national_admin`` role (or
the command line). Entries loaded before have no commune: only a national act changes them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

OLD_ROLES = ('police', 'health_station', 'committee', 'vaccination_site', 'health_authority',
             'admin')
NEW_ROLES = OLD_ROLES + ('national_admin',)


def _roles(values):
    return "role IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _set_roles(values):
    # The role column is VARCHAR with a CHECK listing the values (models_base.enum_column);
    # on SQLite the table is rebuilt by batch mode.
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_user_account_role'), type_='check')
        batch_op.create_check_constraint('role', _roles(values))


def upgrade():
    with op.batch_alter_table('register_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('commune_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_register_entry_commune_id_area'), 'area',
                                    ['commune_id'], ['id'])
    _set_roles(NEW_ROLES)


def downgrade():
    op.execute("DELETE FROM login_session WHERE user_id IN "
               "(SELECT id FROM user_account WHERE role = 'national_admin')")
    op.execute("UPDATE user_account SET role = 'admin', active = false "
               "WHERE role = 'national_admin'")
    _set_roles(OLD_ROLES)
    with op.batch_alter_table('register_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_register_entry_commune_id_area'),
                                 type_='foreignkey')
        batch_op.drop_column('commune_id')
