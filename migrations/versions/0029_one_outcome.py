"""one outcome: one open handover list per person, one valid confirmation per person

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 14:40:00

Issue 15, item 2: two submits at once must not put a person on two open handover lists, nor
confirm a person by two documents. Each rule becomes a partial unique index over a marker
column: ``worklist_member.open_handover`` (true while the list is a handover list not yet
archived) and ``signed_document_member.basis`` ('confirmation' for the entries of committee
lists, site lists and minutes, which confirm the person).

Duplicates made before this revision are resolved as the portal itself would: the newest
entry is kept. A person on two open handover lists stays listed on both (the lists are
frozen documents), but only the newest list's entry holds the index; a person confirmed by
two documents keeps the newest confirmation and the older ones are marked superseded, as a
later confirmation marks them. Each resolved duplicate is reported in the migration's log.
"""
import logging
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')

OPEN = "open_handover"
VALID = "basis IS NOT NULL AND superseded_at IS NULL"
CONFIRMING = ('committee_list', 'site_daily', 'minutes')

OPEN_HANDOVER_MEMBER = """
    worklist_id IN (SELECT id FROM worklist
                    WHERE kind = 'handover' AND state <> 'archived')
"""
NEWER_OPEN_LIST = """
    EXISTS (SELECT 1 FROM worklist_member newer
            JOIN worklist w ON w.id = newer.worklist_id
            WHERE newer.person_id = worklist_member.person_id
              AND newer.worklist_id > worklist_member.worklist_id
              AND w.kind = 'handover' AND w.state <> 'archived')
"""
NEWER_CONFIRMATION = """
    EXISTS (SELECT 1 FROM signed_document_member newer
            WHERE newer.person_id = signed_document_member.person_id
              AND newer.basis = 'confirmation' AND newer.superseded_at IS NULL
              AND newer.id > signed_document_member.id)
"""


def upgrade():
    bind = op.get_bind()
    op.add_column('worklist_member', sa.Column('open_handover', sa.Boolean(), nullable=True))
    op.add_column('signed_document_member',
                  sa.Column('basis', sa.String(length=16), nullable=True))

    doubled = bind.execute(sa.text(
        f"SELECT person_id, worklist_id FROM worklist_member "
        f"WHERE {OPEN_HANDOVER_MEMBER} AND {NEWER_OPEN_LIST} ORDER BY person_id, worklist_id"
    )).all()
    for person_id, worklist_id in doubled:
        log.warning("person %s is on more than one open handover list: list %s is not the "
                    "newest; archive it once received", person_id, worklist_id)
    bind.execute(sa.text(
        f"UPDATE worklist_member SET open_handover = :yes "
        f"WHERE {OPEN_HANDOVER_MEMBER} AND NOT {NEWER_OPEN_LIST}"), {"yes": True})

    bind.execute(sa.text(
        "UPDATE signed_document_member SET basis = 'confirmation' WHERE document_id IN "
        "(SELECT id FROM signed_document WHERE kind IN :kinds)"
    ).bindparams(sa.bindparam('kinds', expanding=True)), {"kinds": list(CONFIRMING)})
    doubled = bind.execute(sa.text(
        f"SELECT person_id, document_id FROM signed_document_member "
        f"WHERE {VALID} AND {NEWER_CONFIRMATION} ORDER BY person_id, document_id")).all()
    for person_id, document_id in doubled:
        log.warning("person %s was confirmed by more than one document: the entry of "
                    "document %s is marked superseded by the newest", person_id, document_id)
    bind.execute(sa.text(
        f"UPDATE signed_document_member SET superseded_at = :now "
        f"WHERE {VALID} AND {NEWER_CONFIRMATION}"),
        {"now": datetime.now(timezone.utc).replace(tzinfo=None)})

    op.create_index('ux_worklist_member_open_handover', 'worklist_member', ['person_id'],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_index('ux_signed_document_member_valid', 'signed_document_member',
                    ['person_id', 'basis'], unique=True, sqlite_where=sa.text(VALID),
                    postgresql_where=sa.text(VALID))


def downgrade():
    op.drop_index('ux_signed_document_member_valid', table_name='signed_document_member')
    op.drop_index('ux_worklist_member_open_handover', table_name='worklist_member')
    with op.batch_alter_table('signed_document_member') as batch_op:
        batch_op.drop_column('basis')
    with op.batch_alter_table('worklist_member') as batch_op:
        batch_op.drop_column('open_handover')
