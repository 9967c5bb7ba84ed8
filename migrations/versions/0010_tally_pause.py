"""tally pause: on SQLite matching adds a slice's status changes to the counters at once, not by a trigger per row

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 08:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

UPSERT = """INSERT INTO person_tally (commune_id, status, n) VALUES ({c}, {s}, {k})
    ON CONFLICT (commune_id, status) DO UPDATE SET n = n + {k};"""


def _status_trigger(paused: bool) -> str:
    when = "OLD.status IS NOT NEW.status OR OLD.commune_id IS NOT NEW.commune_id"
    if paused:
        when = (f"({when}) AND NOT EXISTS (SELECT 1 FROM tally_pause "
                "WHERE commune_id IN (OLD.commune_id, NEW.commune_id))")
    # Not paused: 0004's trigger as 0004 wrote it.
    return ("CREATE TRIGGER tally_person_au AFTER UPDATE OF status, commune_id ON person "
            f"WHEN {when} BEGIN "
            + UPSERT.format(c="OLD.commune_id", s="OLD.status", k=-1)
            + UPSERT.format(c="NEW.commune_id", s="NEW.status", k=1) + " END")


def upgrade():
    op.create_table('tally_pause',
    sa.Column('commune_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.PrimaryKeyConstraint('commune_id', name=op.f('pk_tally_pause'))
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS tally_person_au")
        op.execute(_status_trigger(paused=True))


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS tally_person_au")
        op.execute(_status_trigger(paused=False))
    op.drop_table('tally_pause')
