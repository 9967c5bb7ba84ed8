"""Checking one person's identity on the spot, before a new dose is saved (letter
8938/BYT-DP)."""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.records.idcheck import IdIssue, check_id
from portal.records.models import Person
from portal.registry.adapter import RegisterRecord, RegisterUnavailable, get_adapter
from portal.registry.compare import Comparison, compare


@dataclass
class IdentityCheck:
    exempt: bool = False
    issues: list[IdIssue] = field(default_factory=list)
    entry: RegisterRecord | None = None
    comparison: Comparison | None = None
    not_found: bool = False
    unavailable: str | None = None

    @property
    def needs_attention(self) -> bool:
        """Something the staff must look at before saving."""
        return bool(
            self.issues
            or self.not_found
            or self.unavailable
            or (self.comparison is not None and self.comparison.differs)
        )


def check_identity(person: Person) -> IdentityCheck:
    if person.is_foreign:
        # Foreign nationals are not checked against the population database
        # (letter 9438/BYT-CNTT).
        return IdentityCheck(exempt=True)
    issues = check_id(
        person.id_number,
        person.sex.value,
        person.birth_date,
        person.birth_precision.value,
        person.nationality,
    )
    result = IdentityCheck(issues=issues)
    if not person.id_number or any(i.field == "id_number" for i in issues):
        return result
    try:
        entry = get_adapter().lookup([person.id_number]).get(person.id_number)
    except RegisterUnavailable as error:
        result.unavailable = str(error)
        return result
    if entry is None:
        result.not_found = True
    else:
        result.entry = entry
        result.comparison = compare(person, entry)
    return result
