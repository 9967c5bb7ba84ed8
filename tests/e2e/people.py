"""Each journey's own persons on the session's demo portal (tests/e2e/conftest.py).

The journeys share one demo and may run in any order, so each picks persons no other journey
touches, by a property only it uses (which field differs from the register, which name a
committee filters on). Picking is test set-up; what the journeys then assert is on screen.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from portal.areas.models import Area
from portal.core.text import fold
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.registry.models import MatchResult, Outcome, RegisterEntry

BA_DINH = "00004"


@dataclass(frozen=True)
class Picked:
    id: int
    full_name: str
    id_number: str | None
    register_name: str | None = None


def _commune_id(code: str) -> int:
    return db.session.scalar(sa.select(Area.id).where(Area.code == code))


def mismatched(
    app,
    *,
    name: str = "identical",
    birth: str = "identical",
    sex: str = "identical",
    nth: int = 0,
    commune: str = BA_DINH,
    by_name: bool = False,
    last: bool = False,
) -> Picked:
    """The ``nth`` person (by id, or by name as the lists sort; counted from the end with
    ``last``) of the commune's review list whose comparison with the population database
    gives exactly these results (name, birth date, sex)."""
    with app.app_context():
        row = db.session.execute(
            sa.select(Person, RegisterEntry.full_name)
            .join(MatchResult, MatchResult.person_id == Person.id)
            .join(RegisterEntry, RegisterEntry.id_number == Person.id_number)
            .where(
                Person.commune_id == _commune_id(commune),
                Person.status == PersonStatus.MISMATCH,
                MatchResult.outcome == Outcome.MISMATCH,
                MatchResult.name_result == name,
                MatchResult.birth_result == birth,
                MatchResult.sex_result == sex,
            )
            .order_by(
                *(
                    c.desc() if last else c
                    for c in ((Person.name_sort, Person.id) if by_name else (Person.id,))
                )
            )
            .offset(nth)
            .limit(1)
        ).one()
        person, register_name = row
        return Picked(person.id, person.full_name, person.id_number, register_name)


def matched_group(
    app, *, size: int, nth: int = 0, commune: str = BA_DINH
) -> tuple[str, list[Picked]]:
    """A name to type in a search box (which finds names containing it, accents ignored)
    that finds exactly ``size`` persons of the commune, all of them matched, and that no
    register spelling of a mismatched record contains (so no correction made by another
    journey can add a person to it); the ``nth`` such name, with its persons."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(
                Person.id, Person.full_name, Person.name_folded, Person.id_number, Person.status
            )
            .where(Person.commune_id == _commune_id(commune))
            .order_by(Person.id)
        ).all()
        spellings = [
            fold(n)
            for n in db.session.scalars(
                sa.select(RegisterEntry.full_name)
                .join(Person, Person.id_number == RegisterEntry.id_number)
                .where(
                    Person.status != PersonStatus.MATCHED,
                    RegisterEntry.full_name != Person.full_name,
                )
            )
        ]
        seen: set[str] = set()
        found = 0
        for row in rows:
            q = row.name_folded
            if q in seen:
                continue
            seen.add(q)
            group = [r for r in rows if q in r.name_folded]
            if (
                len(group) == size
                and all(r.status == PersonStatus.MATCHED for r in group)
                and not any(q in s for s in spellings)
            ):
                if found == nth:
                    return row.full_name, [Picked(r.id, r.full_name, r.id_number) for r in group]
                found += 1
        raise LookupError(f"no group of {size} matched persons")
