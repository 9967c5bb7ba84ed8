"""The signing pages' reads: the latest documents of a unit, the minutes awaiting their
scan, what a document's page shows beside it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.signing import permissions
from portal.signing.models import (
    DocumentMember,
    Minutes,
    MinutesState,
    SignedDocument,
    SigningBatch,
)


def latest_documents(user) -> list[Any]:
    """The twenty latest documents of the user's unit that they may open, each with whether
    the user sees it whole. Whole or not is asked of the twenty listed only, not of every
    document in scope."""
    listed = (
        sa.select(SignedDocument.id)
        .where(permissions.unit_documents(user), permissions.document_scope(user))
        .order_by(SignedDocument.id.desc())
        .limit(20)
        .subquery()
    )
    return list(
        db.session.execute(
            sa.select(SignedDocument, permissions.whole_document(user))
            .join(listed, listed.c.id == SignedDocument.id)
            .order_by(SignedDocument.id.desc())
        ).all()
    )


def open_minutes(user) -> list[Minutes]:
    """The twenty latest minutes in the user's scope not confirmed yet."""
    return list(
        db.session.scalars(
            sa.select(Minutes)
            .where(permissions.minutes_scope(user), Minutes.state != MinutesState.CONFIRMED)
            .order_by(Minutes.id.desc())
            .limit(20)
        )
    )


def first_member_snapshot(document: SignedDocument) -> dict[str, Any] | None:
    """The snapshot of a document's first person (a certificate's only one)."""
    return db.session.scalar(
        sa.select(DocumentMember.snapshot).where(DocumentMember.document_id == document.id).limit(1)
    )


def batch_of(document: SignedDocument) -> SigningBatch | None:
    """The signing batch the document was signed in, if any."""
    return db.session.scalar(
        sa.select(SigningBatch).where(SigningBatch.document_id == document.id).limit(1)
    )


def confirmed_person_ids(minutes: Minutes) -> set[int]:
    """The persons on the document the minutes led to (none while there is none)."""
    if not minutes.document_id:
        return set()
    return set(
        db.session.scalars(
            sa.select(DocumentMember.person_id).where(
                DocumentMember.document_id == minutes.document_id
            )
        )
    )
