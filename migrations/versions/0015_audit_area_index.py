"""audit area index: the trail page reads an area's events newest first

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 13:00:00

"""
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_audit_event_area_id', 'audit_event', ['actor_area', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_audit_event_area_id', table_name='audit_event')
