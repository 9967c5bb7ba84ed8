"""A record's history as its page shows it: the person's own audit events, plus what
happened to the person elsewhere — the Excel import that created the record, and the
signed documents (confirmation lists, certificates, minutes) that hold the person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for

from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.records.models import Person
from portal.signing import permissions as signing_permissions
from portal.signing.models import DocumentMember, SignedDocument


@dataclass
class Entry:
    """One line of the history; the attributes of an ``AuditEvent`` the page reads."""

    occurred_at: datetime
    action: str
    actor_name: str | None = None
    actor_role: str | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)
    reason: str | None = None
    url: str | None = None


def record_history(person: Person, user: Any, limit: int = 200) -> list[Any]:
    """Newest first. A signed document links to its public verification when every person
    on it lies in the user's area; otherwise to its page, which the user sees reduced to
    their persons (when they may open it at all): the verification lists the persons whose
    confirmation lapsed, whoever they are (issue 14, item 2)."""
    entries: list[Any] = list(audit.history("person", person.id, limit))
    if person.import_batch_id is not None:
        event = db.session.scalar(
            sa.select(AuditEvent)
            .where(
                AuditEvent.action == "import.commit",
                AuditEvent.entity_type == "import_batch",
                AuditEvent.entity_id == str(person.import_batch_id),
            )
            .limit(1)
        )
        if event is not None:
            entries.append(
                Entry(
                    event.occurred_at,
                    "person.imported",
                    event.actor_name,
                    event.actor_role,
                    {"filename": [None, (event.changes.get("filename") or [None, None])[1]]},
                )
            )
    rows = db.session.execute(
        sa.select(
            SignedDocument,
            DocumentMember.superseded_at,
            signing_permissions.whole_document(user),
            signing_permissions.document_scope(user),
        )
        .join(DocumentMember, DocumentMember.document_id == SignedDocument.id)
        .where(DocumentMember.person_id == person.id)
        .order_by(SignedDocument.signed_at.desc())
        .limit(limit)
    )
    for document, superseded_at, whole, visible in rows:
        state = (
            "superseded"
            if superseded_at is not None and document.state.value == "valid"
            else document.state.value
        )
        url = (
            url_for("signing.verify_code", code=document.code)
            if whole
            else url_for("signing.show_document", document_id=document.id)
            if visible
            else None
        )
        entries.append(
            Entry(
                document.signed_at,
                f"document.sign.{document.kind.value}",
                document.signer_name,
                None,
                {"document": [None, document.title], "document_state": [None, state]},
                url=url,
            )
        )
    entries.sort(key=lambda e: e.occurred_at, reverse=True)
    return entries[:limit]
