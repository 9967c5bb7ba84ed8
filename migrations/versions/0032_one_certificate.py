"""one outcome: one valid certificate per person

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 21:00:00

Issue 15, item 2: two certificate batches at once must not certify a person twice. A
certificate's entry gets the basis 'certificate', so that the unique index of revision 0029
(one valid entry per person and basis) holds one valid certificate per person, as it holds
one valid confirmation.

Duplicates made before this revision are resolved as the portal itself would: the newest
certificate's entry is kept and the older ones are marked superseded. Each is reported in
the migration's log. No column changes: the downgrade clears the basis again.
"""
import logging
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

log = logging.getLogger('alembic.runtime.migration')

CERTIFICATE = "SELECT id FROM signed_document WHERE kind = 'certificate'"
VALID_CERTIFICATE = f"document_id IN ({CERTIFICATE}) AND superseded_at IS NULL"
NEWER_CERTIFICATE = f"""
    EXISTS (SELECT 1 FROM signed_document_member newer
            WHERE newer.person_id = signed_document_member.person_id
              AND newer.document_id IN ({CERTIFICATE}) AND newer.superseded_at IS NULL
              AND newer.id > signed_document_member.id)
"""


def upgrade():
    bind = op.get_bind()
    # First the older duplicates superseded, then the basis set: the index refuses two.
    doubled = bind.execute(sa.text(
        f"SELECT person_id, document_id FROM signed_document_member "
        f"WHERE {VALID_CERTIFICATE} AND {NEWER_CERTIFICATE} "
        f"ORDER BY person_id, document_id")).all()
    for person_id, document_id in doubled:
        log.warning("person %s had more than one valid certificate: certificate %s is marked "
                    "superseded by the newest", person_id, document_id)
    bind.execute(sa.text(
        f"UPDATE signed_document_member SET superseded_at = :now "
        f"WHERE {VALID_CERTIFICATE} AND {NEWER_CERTIFICATE}"),
        {"now": datetime.now(timezone.utc).replace(tzinfo=None)})
    bind.execute(sa.text(
        f"UPDATE signed_document_member SET basis = 'certificate' "
        f"WHERE document_id IN ({CERTIFICATE})"))


def downgrade():
    op.execute("UPDATE signed_document_member SET basis = NULL WHERE basis = 'certificate'")
