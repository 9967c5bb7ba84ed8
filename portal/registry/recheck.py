"""Checking one person again at once, after a correction: the single-person twin of
``portal.registry.matching``.

The ID checks (``idcheck.check_id``) and the field comparison (``compare.compare``) are the
Python forms of matching's SQL; the outcome and the status follow matching's rule, and the
person's ``MatchResult`` row is replaced with the same columns, so a later matching run sees
a fresh result (same person version) and leaves it alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.audit import services as audit
from portal.core.clock import utcnow
from portal.core.sql import levenshtein
from portal.core.text import norm
from portal.extensions import db
from portal.records.idcheck import MISSING, check_id
from portal.records.models import Person, PersonStatus
from portal.registry.adapter import (
    RegisterRecord,
    RegisterUnavailable,
    get_adapter,
    latest_extract_id,
)
from portal.registry.compare import Comparison, compare
from portal.registry.matching import INVALID_CODES, KEPT_STATUSES
from portal.registry.models import (
    BirthResult,
    MatchResult,
    NameResult,
    Outcome,
    RegisterEntry,
    SexResult,
)


@dataclass
class Recheck:
    """What the check found, and what it changed."""

    outcome: Outcome | None  # None when the register could not be asked
    previous_outcome: Outcome | None
    previous_status: PersonStatus
    status: PersonStatus
    entry: RegisterRecord | None = None
    comparison: Comparison | None = None
    unavailable: str | None = None  # the register's failure, in Vietnamese

    def changes(self) -> dict[str, list]:
        """``{field: [old, new]}`` for the audit trail."""
        out: dict[str, list] = {}
        if self.previous_status != self.status:
            out["status"] = [self.previous_status.value, self.status.value]
        old = self.previous_outcome.value if self.previous_outcome else None
        new = self.outcome.value if self.outcome else None
        if old != new:
            out["match_outcome"] = [old, new]
        return out


def _entry(number: str) -> RegisterRecord | None:
    row = db.session.get(RegisterEntry, number)
    if row is None:
        return None
    return RegisterRecord(
        row.id_number, row.full_name, row.sex.value, row.birth_date, row.birth_precision.value
    )


def _outcome(
    issue: str | None, entry: RegisterRecord | None, comparison: Comparison | None
) -> Outcome:
    """Matching's CASE, in the same order."""
    if issue == MISSING:
        return Outcome.MISSING_ID
    if issue in INVALID_CODES:
        return Outcome.INVALID_ID
    if entry is None or comparison is None:
        return Outcome.NOT_FOUND
    if (
        comparison.name in (NameResult.IDENTICAL, NameResult.CASE_OR_SPACING)
        and comparison.birth == BirthResult.IDENTICAL
        and comparison.sex == SexResult.IDENTICAL
    ):
        return Outcome.MATCHED
    return Outcome.MISMATCH


def recheck_person(person: Person, actor=None, record: bool = True) -> Recheck:
    """Check ``person`` now, replace their ``MatchResult`` and set their status as matching
    does (statuses in ``KEPT_STATUSES`` stay). Flushes, never commits.

    When the register cannot be asked, the old result no longer holds: it is dropped and
    the status becomes ``unverified`` (unless kept), for the next matching run to settle.
    With ``record`` an audit event ``person.recheck`` is written; a caller that audits the
    change itself (``records.services.correct_person``) passes False and merges
    ``Recheck.changes()`` into its own event.
    """
    previous = db.session.get(MatchResult, person.id)
    result = Recheck(
        outcome=None,
        previous_outcome=previous.outcome if previous is not None else None,
        previous_status=person.status,
        status=person.status,
    )
    issue: str | None = None
    extract_id: int | None = None
    if person.is_foreign:
        # Foreign nationals are not checked against the population database
        # (letter 9438/BYT-CNTT).
        result.outcome = Outcome.EXEMPT
        extract_id = latest_extract_id()
    else:
        issues = check_id(
            person.id_number,
            person.sex.value,
            person.birth_date,
            person.birth_precision.value,
            person.nationality,
        )
        issue = issues[0].code if issues else None
        if person.id_number:
            try:
                extract_id = get_adapter().prepare([person.id_number])
                result.entry = _entry(person.id_number)
            except RegisterUnavailable as error:
                result.unavailable = str(error)
        else:
            extract_id = latest_extract_id()
        if result.entry is not None:
            result.comparison = compare(person, result.entry)
        if result.unavailable is None or issue == MISSING or issue in INVALID_CODES:
            result.outcome = _outcome(issue, result.entry, result.comparison)

    if person.status not in KEPT_STATUSES:
        person.status = (
            PersonStatus(result.outcome.value)
            if result.outcome is not None
            else PersonStatus.UNVERIFIED
        )
    result.status = person.status
    # One flush: the person's new version is the one the result is filed under.
    db.session.flush()
    if result.outcome is None:
        if previous is not None:
            db.session.delete(previous)
    else:
        entry, comparison = result.entry, result.comparison
        values = {
            "commune_id": person.commune_id,
            "checked_at": utcnow(),
            "person_version": person.version,
            "extract_id": extract_id,
            "outcome": result.outcome,
            "id_issue": issue,
            "name_result": comparison.name if comparison else None,
            "name_distance": _distance(person, entry) if entry else None,
            "birth_result": comparison.birth if comparison else None,
            "sex_result": comparison.sex if comparison else None,
        }
        # The row is replaced: every column is written, in one UPDATE (or INSERT).
        row = previous or MatchResult(person_id=person.id)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.add(row)
    db.session.flush()
    if record:
        audit.record("person.recheck", "person", person.id, result.changes(), actor=actor)
    return result


def _distance(person: Person, entry: RegisterRecord) -> int | None:
    """Matching's name_distance: 0 when the normalised names agree."""
    mine, theirs = norm(person.full_name), norm(entry.full_name)
    return 0 if mine == theirs else levenshtein(mine, theirs)
