"""The police review list: persons whose record differs from the register or is not in it."""

from __future__ import annotations

import sqlalchemy as sa

from portal.core.paging import keyset_page
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.records.permissions import person_scope
from portal.records.queries import Filters, Page, count_persons, page_of, search_clause
from portal.registry.models import (
    BirthResult,
    MatchResult,
    NameResult,
    Outcome,
    RegisterEntry,
    SexResult,
)
from portal.worklists.models import Worklist, WorklistKind, WorklistMember, WorklistState
from portal.worklists.permissions import handover_scope

M = MatchResult
NAME_DIFFERS = M.name_result.not_in([NameResult.IDENTICAL.value, NameResult.CASE_OR_SPACING.value])
# filter value -> condition on the match result
DIFFERENCE_FILTERS: dict[str, sa.ColumnElement[bool]] = {
    "name": NAME_DIFFERS,
    "name_diacritics": M.name_result == NameResult.DIACRITICS.value,
    "name_typo": M.name_result == NameResult.TYPO.value,
    "name_different": M.name_result == NameResult.DIFFERENT.value,
    "birth": M.birth_result != BirthResult.IDENTICAL.value,
    "birth_lower_precision": M.birth_result == BirthResult.LOWER_PRECISION.value,
    "birth_swapped": M.birth_result == BirthResult.DAY_MONTH_SWAPPED.value,
    "birth_different": M.birth_result == BirthResult.DIFFERENT.value,
    "sex": M.sex_result == SexResult.DIFFERENT.value,
    "not_found": M.outcome == Outcome.NOT_FOUND.value,
}


# The lists a police decision other than "verified in person" puts the person on.
DECISION_KINDS = (WorklistKind.CORRECTION, WorklistKind.REGISTER_UPDATE)
# The review list's "decision" filter: to decide (the default), decided, or both.
DECISION_STATES = ("open", "decided", "all")


def decided() -> sa.ColumnElement[bool]:
    """The police decided on the person as the record is now: a decision holds until the
    record changes (a correction brings the person back if it still differs)."""
    return sa.exists().where(
        WorklistMember.person_id == Person.id,
        WorklistMember.person_version == Person.version,
        WorklistMember.worklist_id == Worklist.id,
        Worklist.kind.in_(DECISION_KINDS),
    )


def review_clauses(
    user, difference: str, q: str, state: str = "open"
) -> list[sa.ColumnElement[bool]]:
    conditions = [
        M.person_id == Person.id,
        M.outcome.in_([Outcome.MISMATCH.value, Outcome.NOT_FOUND.value]),
    ]
    if difference:
        conditions.append(DIFFERENCE_FILTERS[difference])
    clauses = [
        person_scope(user),
        # Persons the police already verified in person have left this list.
        Person.status.not_in([PersonStatus.VERIFIED.value, PersonStatus.CONFIRMED.value]),
        sa.exists().where(*conditions),
    ]
    if state == "open":
        clauses.append(~decided())
    elif state == "decided":
        clauses.append(decided())
    search = search_clause(q)
    if search is not None:
        clauses.append(search)
    return clauses


def review_page(
    user, difference: str, q: str, after: str, before: str, size: int, state: str = "open"
) -> Page:
    clauses = review_clauses(user, difference, q, state)
    filters = Filters(q=q, after=after, before=before)
    return page_of(clauses, filters, size, count_persons(clauses))


def decisions_of(persons: list[Person]) -> dict[int, WorklistMember]:
    """For each decided person of the page, the list entry that holds the decision."""
    if not persons:
        return {}
    versions = {p.id: p.version for p in persons}
    rows = db.session.scalars(
        sa.select(WorklistMember)
        .join(Worklist)
        .where(
            WorklistMember.person_id.in_(list(versions)),
            Worklist.kind.in_(DECISION_KINDS),
        )
        .order_by(WorklistMember.id)
    )
    return {m.person_id: m for m in rows if m.person_version == versions[m.person_id]}


def results_and_entries(
    persons: list[Person],
) -> tuple[dict[int, MatchResult], dict[str, RegisterEntry]]:
    ids = [p.id for p in persons]
    numbers = [p.id_number for p in persons if p.id_number]
    results = (
        {
            r.person_id: r
            for r in db.session.scalars(
                sa.select(MatchResult).where(MatchResult.person_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    entries = (
        {
            e.id_number: e
            for e in db.session.scalars(
                sa.select(RegisterEntry).where(RegisterEntry.id_number.in_(numbers))
            )
        }
        if numbers
        else {}
    )
    return results, entries


def reviewable(user, person_ids: list[int]) -> list[Person]:
    """The selected persons still to decide on the user's review list (others are ignored:
    nobody decides twice)."""
    if not person_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(Person.id.in_(person_ids), *review_clauses(user, "", ""))
            .order_by(Person.name_sort, Person.id)
        )
    )


def handover_page(
    user, state: WorklistState | None, after: str, before: str, size: int
) -> Page[Worklist]:
    """The handover lists the user may see, newest first, in the given state, a page after
    or before a cursor (BadCursor for one the portal did not make)."""
    query = sa.select(Worklist).where(handover_scope(user))
    if state is not None:
        query = query.where(Worklist.state == state)
    return keyset_page(
        query, (Worklist.id,), page_size=size, after=after, before=before, descending=True
    )


def member_counts(worklist_ids: list[int]) -> dict[int, int]:
    """How many persons each list holds (a list without any is left out)."""
    if not worklist_ids:
        return {}
    return {
        worklist_id: count
        for worklist_id, count in db.session.execute(
            sa.select(WorklistMember.worklist_id, sa.func.count())
            .where(WorklistMember.worklist_id.in_(worklist_ids))
            .group_by(WorklistMember.worklist_id)
        )
    }


def members_of(worklist: Worklist) -> list[WorklistMember]:
    """The list's persons in the order they were listed."""
    return list(
        db.session.scalars(
            sa.select(WorklistMember)
            .where(WorklistMember.worklist_id == worklist.id)
            .order_by(WorklistMember.id)
        )
    )
