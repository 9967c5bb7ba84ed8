"""A record's history as its page shows it: the person's own audit events, plus what
happened to the person elsewhere — the Excel import that created the record, and the
signed documents (confirmation lists, certificates, minutes) that hold the person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.core import events
from portal.extensions import db
from portal.records.models import Person


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
    """Newest first: the person's audit events, the import that created the record, and the
    signed documents that hold the person, each linked as far as ``user`` may follow it
    (signing's ``signed_documents_in_history``)."""
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
    # The signed documents are the signing domain's, above this one: it answers
    # (core/events.py).
    entries.extend(events.answer(events.history_shown, person, user=user, limit=limit))
    entries.sort(key=lambda e: e.occurred_at, reverse=True)
    return entries[:limit]
