"""The same field-by-field comparison as matching's SQL, for one person in Python: used
where a single record is checked on the spot (before a new dose is saved)."""

from __future__ import annotations

from dataclasses import dataclass

from portal.core.sql import levenshtein
from portal.core.text import fold, norm
from portal.records.models import Person
from portal.registry.adapter import RegisterRecord
from portal.registry.matching import TYPO_DISTANCE
from portal.registry.models import BirthResult, NameResult, SexResult


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
