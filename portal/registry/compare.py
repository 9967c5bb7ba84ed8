"""The same field-by-field comparison as matching's SQL, for one person in Python: used
where a single record is checked on the spot (before a new dose is saved); and the
register's values where a matched record differs, which the correction form offers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from portal.core.clock import format_birth
from portal.core.labels import sex_label
from portal.core.sql import levenshtein
from portal.core.text import fold, norm
from portal.extensions import db
from portal.records.corrections import RegisterValue
from portal.records.models import BirthPrecision, Person, Sex
from portal.registry.adapter import RegisterRecord
from portal.registry.matching import TYPO_DISTANCE
from portal.registry.models import (
    BirthResult,
    MatchResult,
    NameResult,
    RegisterEntry,
    SexResult,
)


@dataclass(frozen=True)
class Comparison:
    name: NameResult
    birth: BirthResult
    sex: SexResult

    @property
    def differs(self) -> bool:
        return (
            self.name not in (NameResult.IDENTICAL, NameResult.CASE_OR_SPACING)
            or self.birth != BirthResult.IDENTICAL
            or self.sex != SexResult.IDENTICAL
        )


def compare(person: Person, entry: RegisterRecord) -> Comparison:
    if person.full_name == entry.full_name:
        name = NameResult.IDENTICAL
    elif norm(person.full_name) == norm(entry.full_name):
        name = NameResult.CASE_OR_SPACING
    elif fold(person.full_name) == fold(entry.full_name):
        name = NameResult.DIACRITICS
    elif (levenshtein(fold(person.full_name), fold(entry.full_name)) or 0) <= TYPO_DISTANCE:
        name = NameResult.TYPO
    else:
        name = NameResult.DIFFERENT

    mine, theirs = person.birth_date, entry.birth_date
    precisions = {
        getattr(person.birth_precision, "value", person.birth_precision),
        entry.birth_precision,
    }
    if mine == theirs and len(precisions) == 1:
        birth = BirthResult.IDENTICAL
    elif ("year" in precisions and mine.year == theirs.year) or (
        "month" in precisions and (mine.year, mine.month) == (theirs.year, theirs.month)
    ):
        birth = BirthResult.LOWER_PRECISION
    elif mine.year == theirs.year and (mine.day, mine.month) == (theirs.month, theirs.day):
        birth = BirthResult.DAY_MONTH_SWAPPED
    else:
        birth = BirthResult.DIFFERENT

    sex_value = getattr(person.sex, "value", person.sex)
    sex = SexResult.IDENTICAL if sex_value == entry.sex else SexResult.DIFFERENT
    return Comparison(name, birth, sex)


def register_differences(persons: Iterable[Person]) -> dict[int, dict[str, RegisterValue]]:
    """For each person matched against the register (a ``MatchResult`` exists) whose ID
    number has a register entry of the person's own commune (or of none: one a national act
    wrote), the register's value of every field that differs. An entry another commune's
    police vouch for is not offered here (issue 14, item 1). One query for the whole list;
    ``persons`` have an ID number and are not foreign (records.corrections asks so)."""
    by_id = {p.id: p for p in persons}
    rows = db.session.execute(
        sa.select(MatchResult.person_id, RegisterEntry)
        .join(Person, Person.id == MatchResult.person_id)
        .join(RegisterEntry, RegisterEntry.id_number == Person.id_number)
        .where(
            MatchResult.person_id.in_(list(by_id)),
            sa.or_(
                RegisterEntry.commune_id.is_(None), RegisterEntry.commune_id == Person.commune_id
            ),
        )
    )
    out: dict[int, dict[str, RegisterValue]] = {}
    for person_id, entry in rows:
        person = by_id[person_id]
        found: dict[str, RegisterValue] = {}
        if entry.full_name != person.full_name:
            found["full_name"] = RegisterValue({"full_name": entry.full_name}, entry.full_name)
        if entry.sex.value != person.sex.value:
            found["sex"] = RegisterValue({"sex": Sex(entry.sex.value)}, sex_label(entry.sex))
        if (entry.birth_date, entry.birth_precision.value) != (
            person.birth_date,
            person.birth_precision.value,
        ):
            found["birth_date"] = RegisterValue(
                {
                    "birth_date": entry.birth_date,
                    "birth_precision": BirthPrecision(entry.birth_precision.value),
                },
                format_birth(entry.birth_date, entry.birth_precision),
            )
        if found:
            out[person_id] = found
    return out
