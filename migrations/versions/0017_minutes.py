"""minutes: a printed biên bản, numbered, with exactly the persons printed on it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:20:53

The scan of the signed paper is attached to its minutes and confirms those persons only
(issue 13, item 1).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('minutes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('printed', 'uploaded', 'confirmed', name='minutes_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('scan_path', sa.String(length=300), nullable=True),
    sa.Column('scan_sha256', sa.String(length=64), nullable=True),
    sa.Column('scan_media_type', sa.String(length=40), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name=op.f('fk_minutes_area_id_area')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_minutes_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['document_id'], ['signed_document.id'], name=op.f('fk_minutes_document_id_signed_document')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], name=op.f('fk_minutes_uploaded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes'))
    )
    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.create_index('ix_minutes_area_state', ['area_id', 'state'], unique=False)

    op.create_table('minutes_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('minutes_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['minutes_id'], ['minutes.id'], name=op.f('fk_minutes_member_minutes_id_minutes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_minutes_member_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_minutes_member')),
    sa.UniqueConstraint('minutes_id', 'person_id', name='uq_minutes_member')
    )
    with op.batch_alter_table('minutes_member', schema=None) as batch_op:
        batch_op.create_index('ix_minutes_member_person', ['person_id'], unique=False)



def downgrade():
    with op.batch_alter_table('minutes_member', schema=None) as batch_op:
        batch_op.drop_index('ix_minutes_member_person')

    op.drop_table('minutes_member')
    with op.batch_alter_table('minutes', schema=None) as batch_op:
        batch_op.drop_index('ix_minutes_area_state')

    op.drop_table('minutes')
