"""Writes to persons and doses. Each flushes and records its audit event; callers commit."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from portal.areas.models import Area
from portal.audit import services as audit
from portal.core import events
from portal.core.clock import utcnow
from portal.core.text import fold, norm, normalise_spaces, sort_key
from portal.extensions import db
from portal.records import vaccines
from portal.records.models import Dose, IdentityAcknowledgement, IdKind, Person, PersonStatus

if TYPE_CHECKING:
    from portal.registry.recheck import Recheck

PERSON_FIELDS = (
    "full_name",
    "sex",
    "birth_date",
    "birth_precision",
    "id_number",
    "id_kind",
    "nationality",
    "phone",
    "commune_id",
    "address",
    "status",
)


def id_kind_for(id_number: str | None) -> IdKind:
    if not id_number:
        return IdKind.NONE
    if id_number.isdigit() and len(id_number) == 12:
        return IdKind.CCCD
    if id_number.isdigit() and len(id_number) == 9:
        return IdKind.CMND
    return IdKind.PASSPORT if not id_number.isdigit() else IdKind.CCCD


def snapshot(person: Person) -> dict[str, Any]:
    return {name: getattr(person, name) for name in PERSON_FIELDS}


def _apply(person: Person, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if name not in PERSON_FIELDS:
            raise ValueError(f"unknown person field {name}")
        if isinstance(value, str) and not isinstance(value, enum.Enum):
            value = normalise_spaces(value) or None
        setattr(person, name, value)
    person.name_norm = norm(person.full_name)
    person.name_folded = fold(person.full_name)
    person.name_sort = sort_key(person.full_name)
    if "commune_id" in values:
        commune = db.session.get(Area, person.commune_id)
        if commune is None or commune.province_id is None:
            raise ValueError(f"unknown commune {person.commune_id}")
        person.province_id = commune.province_id
    if "id_number" in values and "id_kind" not in values:
        person.id_kind = id_kind_for(person.id_number)


def create_person(values: Mapping[str, Any], reason: str | None = None, actor=None) -> Person:
    person = Person()
    _apply(person, {"nationality": "VN", **values})
    db.session.add(person)
    db.session.flush()
    audit.record(
        "person.create", "person", person.id, audit.diff({}, snapshot(person)), reason, actor
    )
    return person


def update_person(
    person: Person,
    values: Mapping[str, Any],
    reason: str | None,
    actor=None,
    action: str = "person.update",
):
    before = snapshot(person)
    _apply(person, values)
    changes = audit.diff(before, snapshot(person))
    if changes:
        db.session.flush()
        audit.record(action, "person", person.id, changes, reason, actor)
        # The register forgets a match filed under the old commune; signing supersedes a
        # confirmation whose identity changed (core/events.py).
        events.send(events.person_changed, person, before=before, changes=changes, actor=actor)
    return changes


def add_dose(
    person: Person,
    values: Mapping[str, Any],
    actor=None,
    acknowledged: Sequence[Mapping[str, Any]] | None = None,
) -> Dose:
    """Record a dose; its vaccine given as a code or a name of the catalogue, stored as the
    code. ``acknowledged``: the identity differences shown to the staff, who saved the dose
    despite them; kept with the dose (who, when, what) and in the event."""
    code = vaccines.catalogue().resolve(values.get("vaccine"))
    if code is None:
        raise ValueError(f"unknown vaccine {values.get('vaccine')!r}")
    values = {**values, "vaccine": code}
    dose = Dose(person=person, **values)
    db.session.add(dose)
    db.session.flush()
    changes = {f"dose_{dose.dose_number}.{k}": [None, v] for k, v in values.items()}
    if acknowledged:
        ack = IdentityAcknowledgement(
            dose_id=dose.id,
            acknowledged_by_id=getattr(actor, "id", None),
            acknowledged_at=utcnow(),
            differences=[dict(d) for d in acknowledged],
        )
        db.session.add(ack)
        db.session.flush()
        changes[f"dose_{dose.dose_number}.identity_acknowledged"] = [
            None,
            [d["text"] for d in acknowledged],
        ]
    audit.record("dose.create", "person", person.id, changes, actor=actor)
    return dose


# The four mandatory fields the police vouch for (letter 9438/BYT-CNTT): changing one needs a reason
# and undoes a human confirmation.
IDENTITY_FIELDS = ("full_name", "sex", "birth_date", "birth_precision", "id_number")
# Statuses that mean a person vouched for the record (KEPT_STATUSES of matching, less the
# one this leads to).
CONFIRMED_STATUSES = (PersonStatus.VERIFIED, PersonStatus.CONFIRMED)


class VersionConflict(Exception):
    """The record was saved by someone else since the form was loaded."""

    def __init__(self, person: Person, expected: int) -> None:
        super().__init__(f"person {person.id} is at version {person.version}, not {expected}")
        self.person = person
        self.expected = expected


def correct_person(
    person: Person,
    values: Mapping[str, Any],
    reason: str | None,
    expected_version: int,
    actor=None,
    register_fields: Sequence[str] = (),
) -> tuple[dict[str, list[Any]], Recheck | None]:
    """A health station's correction: apply, re-check at once, audit in one event.

    Refused with ``VersionConflict`` when the record is no longer at the version the form
    was loaded with (the ORM's version counter guards the UPDATE itself as well). The
    event holds ``{field: [old, new]}`` (with the status and the register check's outcome
    when they change), the reason, and under ``register_values`` the fields whose new value
    was taken from the population register. Flushes, never commits.
    """
    if person.version != expected_version:
        raise VersionConflict(person, expected_version)
    before = snapshot(person)
    _apply(person, values)
    changes = audit.diff(before, snapshot(person))
    if not changes:
        return changes, None
    if any(name in changes for name in IDENTITY_FIELDS) and person.status in CONFIRMED_STATUSES:
        # The one place a changed identity undoes a confirmation (DOMAIN: a signed record
        # that changes goes back to "needs re-confirmation"); a signed one is superseded in
        # its documents too, which stay valid for the others.
        if person.status == PersonStatus.CONFIRMED:
            events.send(events.confirmation_undone, person, actor=actor)
        person.status = PersonStatus.NEEDS_RECONFIRMATION
    check: Recheck = events.answer(events.person_corrected, person, actor=actor)
    changes = audit.diff(before, snapshot(person)) | {
        k: v for k, v in check.changes().items() if k != "status"
    }
    used = [name for name in register_fields if name in changes]
    if used:
        changes["register_values"] = [None, used]
    audit.record("person.correct", "person", person.id, changes, reason, actor)
    return changes, check
