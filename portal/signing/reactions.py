"""Signing's reactions to other domains' events (core/events.py lists them all)."""

from __future__ import annotations

from typing import Any

from portal.core import events
from portal.records.history import Entry
from portal.records.models import PersonStatus
from portal.signing import history, permissions, services
from portal.signing.models import SignedDocument


@events.person_changed.connect
def supersede_changed_identity(
    person: Any, before: dict[str, Any], changes: dict[str, Any], actor: Any = None, **_: Any
) -> None:
    # Issue 5: a confirmed person whose identity changed loses the confirmation.
    if before["status"] == PersonStatus.CONFIRMED and "status" not in changes:
        if services.identity_changed(changes):
            services.supersede_person(person, actor)


@events.confirmation_undone.connect
def supersede_corrected(person: Any, actor: Any = None, **_: Any) -> None:
    services.supersede_person(person, actor)


@events.handover_shown.connect
def offer_handover_signing(
    worklist: Any, user: Any, **_: Any
) -> tuple[SignedDocument | None, bool]:
    # Issue 5: the police officer signs the frozen list, once.
    return services.handover_document(worklist.id), permissions.can_sign_handover(user, worklist)


@events.history_shown.connect
def signed_documents_in_history(person: Any, user: Any, limit: int, **_: Any) -> list[Entry]:
    return history.documents_in_history(person, user, limit)
