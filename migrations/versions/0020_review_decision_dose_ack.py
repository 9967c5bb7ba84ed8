"""review decisions held per record version; identity acknowledgements kept with the dose

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10 09:00:00

worklist_member.person_version: the version of the record a police decision (correction
list, register-update list) was taken on; the review list leaves out the persons decided
at their current version. Existing members are taken as decided on the current version.

dose_identity_ack: who saved a dose despite an identity difference, when, and which
differences were shown (issue 13, item 4). A new table: nothing to rebuild on SQLite.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('worklist_member', sa.Column('person_version', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE worklist_member SET person_version = "
        "(SELECT person.version FROM person WHERE person.id = worklist_member.person_id) "
        "WHERE worklist_id IN (SELECT id FROM worklist "
        "WHERE kind IN ('correction', 'register_update'))"
    )
    op.create_table(
        'dose_identity_ack',
        sa.Column('dose_id', sa.Integer(), nullable=False),
        sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=False),
        sa.Column('differences', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'],
                                name=op.f('fk_dose_identity_ack_acknowledged_by_id_user_account')),
        sa.ForeignKeyConstraint(['dose_id'], ['dose.id'], ondelete='CASCADE',
                                name=op.f('fk_dose_identity_ack_dose_id_dose')),
        sa.PrimaryKeyConstraint('dose_id', name=op.f('pk_dose_identity_ack')),
    )


def downgrade():
    op.drop_table('dose_identity_ack')
    with op.batch_alter_table('worklist_member') as batch_op:
        batch_op.drop_column('person_version')
