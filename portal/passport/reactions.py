"""The passport's reactions to other domains' events (core/events.py lists them all): a
passport is revoked when the confirmation it was built on is superseded, so that it
appears in the revocation list and a new one can be issued."""

from __future__ import annotations

from typing import Any

from portal.core import events
from portal.passport import services
from portal.records.models import PersonStatus
from portal.signing import services as signing_services

SUPERSEDED = "superseded"


def _revoke_in_force(person: Any, actor: Any) -> None:
    passport = services.in_force(person.id)
    if passport is not None:
        services.revoke(passport, SUPERSEDED, actor)


@events.person_changed.connect
def revoke_changed_identity(
    person: Any, before: dict[str, Any], changes: dict[str, Any], actor: Any = None, **_: Any
) -> None:
    # The same condition as signing's supersession (signing.reactions), asked of signing
    # rather than depending on the order the receivers run in.
    if before["status"] == PersonStatus.CONFIRMED and "status" not in changes:
        if signing_services.identity_changed(changes):
            _revoke_in_force(person, actor)


@events.confirmation_undone.connect
def revoke_corrected(person: Any, actor: Any = None, **_: Any) -> None:
    _revoke_in_force(person, actor)
