"""The register's reactions to other domains' events (core/events.py lists them all)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.core import events
from portal.extensions import db
from portal.records.corrections import RegisterValue
from portal.registry.compare import register_differences
from portal.registry.models import MatchResult
from portal.registry.precheck import IdentityCheck, check_identity
from portal.registry.recheck import Recheck, recheck_person


@events.person_changed.connect
def forget_match_in_old_commune(person: Any, changes: dict[str, Any], **_: Any) -> None:
    if "commune_id" in changes:
        # The match result is filed under the commune; the new one checks the person
        # afresh (portal.registry.matching relies on this).
        db.session.execute(sa.delete(MatchResult).where(MatchResult.person_id == person.id))


@events.person_corrected.connect
def recheck_corrected(person: Any, actor: Any = None, **_: Any) -> Recheck:
    # The correction's own audit event holds the outcome (record=False).
    return recheck_person(person, actor, record=False)


@events.identity_checked.connect
def check_identity_for_dose(person: Any, **_: Any) -> IdentityCheck:
    return check_identity(person)


@events.register_compared.connect
def compare_with_register(
    persons: tuple[Any, ...], **_: Any
) -> dict[int, dict[str, RegisterValue]]:
    return register_differences(persons)
