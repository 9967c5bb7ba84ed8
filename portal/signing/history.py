"""The signed documents in a record's history (records.history asks through the
``history_shown`` signal, core/events.py)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for

from portal.extensions import db
from portal.records.history import Entry
from portal.records.models import Person
from portal.signing import permissions
from portal.signing.models import DocumentMember, SignedDocument


def documents_in_history(person: Person, user: Any, limit: int) -> list[Entry]:
    """A record's history lists the signed documents that hold the person, newest first. A
    document links to its public verification when every person on it lies in the user's
    area; otherwise to its page, which the user sees reduced to their persons (when they
    may open it at all): the verification lists the persons whose confirmation lapsed,
    whoever they are (issue 14, item 2)."""
    entries: list[Entry] = []
    rows = db.session.execute(
        sa.select(
            SignedDocument,
            DocumentMember.superseded_at,
            permissions.whole_document(user),
            permissions.document_scope(user),
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
    return entries
