"""signing batches and escalation notes

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 06:07:35

A sign dialog stores exactly the persons it shows (with their record's version and the
data shown), so the PIN confirms those and nobody else; an escalation records the units it
passed over because nobody can log in to them (issue 13, wave 2).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signing_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('committee_list', 'handover_list', 'site_daily', 'certificate', 'minutes', name='document_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('state', sa.Enum('open', 'signed', name='signing_batch_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('signed_at', sa.DateTime(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_signing_batch_area_id_area')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_signing_batch_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['document_id'], ['signed_document.id'], name=op.f('fk_signing_batch_document_id_signed_document')),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_signing_batch_site_id_site')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_batch'))
    )
    with op.batch_alter_table('signing_batch', schema=None) as batch_op:
        batch_op.create_index('ix_signing_batch_creator', ['created_by_id', 'state'], unique=False)

    op.create_table('signing_batch_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['signing_batch.id'], name=op.f('fk_signing_batch_member_batch_id_signing_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_signing_batch_member_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_batch_member')),
    sa.UniqueConstraint('batch_id', 'person_id', name='uq_signing_batch_member')
    )
    with op.batch_alter_table('signing_batch_member', schema=None) as batch_op:
        batch_op.create_index('ix_signing_batch_member_person', ['person_id'], unique=False)

    with op.batch_alter_table('feedback_escalation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=300), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('feedback_escalation', schema=None) as batch_op:
        batch_op.drop_column('note')

    with op.batch_alter_table('signing_batch_member', schema=None) as batch_op:
        batch_op.drop_index('ix_signing_batch_member_person')

    op.drop_table('signing_batch_member')
    with op.batch_alter_table('signing_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_signing_batch_creator')

    op.drop_table('signing_batch')
