"""Matching: per-field explanations, outcomes, statuses, incremental and full re-runs."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.records import services as records
from portal.records.models import Person, PersonStatus
from portal.registry.matching import match_commune
from portal.registry.models import (
    BirthResult,
    MatchResult,
    NameResult,
    Outcome,
    SexResult,
)
from tests.conftest import OWN

BORN = date(1985, 3, 14)
CCCD_M = "001085000001"  # Hà Nội, 1900s male, born '85


def cccd(n: int, sex: str = "male", year: int = 1985) -> str:
    digit = (year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    return f"001{digit}{year % 100:02d}{n:06d}"


@pytest.fixture
def register(make_register):
    return make_register


def result(person: Person) -> MatchResult:
    found = db.session.get(MatchResult, person.id, populate_existing=True)
    assert found is not None
    return found


def run(area, full: bool = False):
    summary = match_commune(area(OWN), full=full)
    db.session.commit()
    return summary


@pytest.mark.parametrize(
    ("record_name", "register_name", "expected", "outcome"),
    [
        ("Nguyễn Văn An", "Nguyễn Văn An", NameResult.IDENTICAL, Outcome.MATCHED),
        ("nguyễn  văn AN", "Nguyễn Văn An", NameResult.CASE_OR_SPACING, Outcome.MATCHED),
        ("Nguyen Van An", "Nguyễn Văn An", NameResult.DIACRITICS, Outcome.MISMATCH),
        ("Nguyễn Văn Anh", "Nguyễn Văn An", NameResult.TYPO, Outcome.MISMATCH),
        ("Nguyễn Vnă An", "Nguyễn Văn An", NameResult.TYPO, Outcome.MISMATCH),
        ("Trần Thị Bích", "Nguyễn Văn An", NameResult.DIFFERENT, Outcome.MISMATCH),
    ],
)
def test_each_name_class(
    area, make_person, register, record_name, register_name, expected, outcome
):
    person = make_person(full_name=record_name, id_number=CCCD_M)
    register({"id_number": CCCD_M, "full_name": register_name})
    run(area)
    found = result(person)
    assert found.name_result == expected
    assert found.outcome == outcome
    assert (found.name_distance == 0) == (
        expected in (NameResult.IDENTICAL, NameResult.CASE_OR_SPACING)
    )


@pytest.mark.parametrize(
    ("record", "entry", "expected"),
    [
        ((BORN, "day"), (BORN, "day"), BirthResult.IDENTICAL),
        ((date(1985, 1, 1), "year"), (BORN, "day"), BirthResult.LOWER_PRECISION),
        ((date(1985, 3, 1), "month"), (BORN, "day"), BirthResult.LOWER_PRECISION),
        ((date(1985, 14 // 5, 1), "month"), (BORN, "day"), BirthResult.DIFFERENT),
        ((date(1985, 2, 3), "day"), (date(1985, 3, 2), "day"), BirthResult.DAY_MONTH_SWAPPED),
        ((date(1986, 3, 14), "day"), (BORN, "day"), BirthResult.DIFFERENT),
    ],
)
def test_each_birth_date_class(area, make_person, register, record, entry, expected):
    person = make_person(id_number=CCCD_M, birth_date=record[0], birth_precision=record[1])
    register(
        {
            "id_number": CCCD_M,
            "full_name": "Nguyễn Văn An",
            "birth_date": entry[0],
            "birth_precision": entry[1],
        }
    )
    run(area)
    found = result(person)
    assert found.birth_result == expected
    assert found.outcome == (
        Outcome.MATCHED if expected == BirthResult.IDENTICAL else Outcome.MISMATCH
    )


def test_sex_classes_and_not_found(area, make_person, register):
    same = make_person(id_number=cccd(1))
    other = make_person(id_number=cccd(2), full_name="Lê Thị Mai", sex="female")
    absent = make_person(id_number=cccd(3))
    register(
        {"id_number": cccd(1), "full_name": "Nguyễn Văn An"},
        {"id_number": cccd(2), "full_name": "Lê Thị Mai", "sex": "male"},
    )
    run(area)
    assert result(same).sex_result == SexResult.IDENTICAL
    assert result(other).sex_result == SexResult.DIFFERENT
    assert result(other).outcome == Outcome.MISMATCH
    assert result(absent).outcome == Outcome.NOT_FOUND
    assert result(absent).name_result is None


def test_id_checks_and_foreigners(area, make_person, register):
    missing = make_person(id_number=None)
    malformed = make_person(id_number="00108500001")
    foreign = make_person(full_name="Kim Min Jun", nationality="KR", id_number="M1234567")
    foreign_no_id = make_person(full_name="John Smith", nationality="US", id_number=None)
    register({"id_number": cccd(9), "full_name": "Kim Min Jun"})
    run(area)
    assert result(missing).outcome == Outcome.MISSING_ID
    assert result(malformed).outcome == Outcome.INVALID_ID
    assert result(malformed).id_issue == "bad_length"
    # Foreign nationals are never checked against the population database (seed 000).
    assert result(foreign).outcome == Outcome.EXEMPT
    assert result(foreign_no_id).outcome == Outcome.EXEMPT
    assert result(foreign).name_result is None


def test_statuses_follow_outcomes_but_police_verification_stays(area, make_person, register):
    matched = make_person(id_number=cccd(1))
    verified = make_person(id_number=cccd(2), full_name="Sai Tên")
    records.update_person(verified, {"status": PersonStatus.VERIFIED}, reason="đã xác minh")
    db.session.commit()
    register(
        {"id_number": cccd(1), "full_name": "Nguyễn Văn An"},
        {"id_number": cccd(2), "full_name": "Nguyễn Văn An"},
    )
    run(area)
    db.session.expire_all()
    assert db.session.get(Person, matched.id).status == PersonStatus.MATCHED
    assert db.session.get(Person, verified.id).status == PersonStatus.VERIFIED
    assert result(verified).outcome == Outcome.MISMATCH


def test_results_record_time_and_extract_and_rerun_only_rechecks_changes(
    area, make_person, register
):
    people = [make_person(id_number=cccd(n), full_name="Nguyễn Văn An") for n in range(1, 6)]
    first = register(*({"id_number": cccd(n), "full_name": "Nguyễn Văn An"} for n in range(1, 5)))
    summary = run(area)
    assert summary.checked == 5
    assert result(people[0]).extract_id == first.id
    assert result(people[4]).outcome == Outcome.NOT_FOUND

    assert run(area).checked == 0, "nothing changed: nothing to re-check"

    records.update_person(people[1], {"full_name": "Nguyễn Văn Ân"}, reason="sửa tên")
    db.session.commit()
    again = run(area)
    assert again.checked == 1
    assert result(people[1]).name_result == NameResult.DIACRITICS

    # A new extract that changes one entry and adds the missing one: those two only.
    second = register(
        {"id_number": cccd(3), "full_name": "Nguyễn Văn Anh"},
        {"id_number": cccd(5), "full_name": "Nguyễn Văn An"},
    )
    assert run(area).checked == 2
    assert result(people[2]).name_result == NameResult.TYPO
    assert result(people[4]).outcome == Outcome.MATCHED
    assert result(people[4]).extract_id == second.id
    assert result(people[0]).extract_id == first.id

    assert run(area, full=True).checked == 5


def test_matching_is_set_based(area, make_person, register, app):
    """The number of SQL statements does not grow with the number of persons."""

    def statements_for(count: int, offset: int) -> int:
        for n in range(count):
            make_person(id_number=cccd(offset + n))
        register(
            *({"id_number": cccd(offset + n), "full_name": "Nguyễn Văn An"} for n in range(count))
        )
        seen: list[str] = []
        engine = db.engines[None] if hasattr(db, "engines") else db.engine
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        target = engine.engine if isinstance(engine, sa.Connection) else engine
        sa.event.listen(target, "before_cursor_execute", listener)
        try:
            run(area, full=True)
        finally:
            sa.event.remove(target, "before_cursor_execute", listener)
        return len(seen)

    small = statements_for(5, 100)
    large = statements_for(60, 200)
    assert large == small


@pytest.mark.parametrize(
    ("record", "entry"),
    [
        (("Nguyễn Văn An", BORN, "day", "male"), ("Nguyễn Văn An", BORN, "day", "male")),
        (("nguyễn  văn AN", BORN, "day", "male"), ("Nguyễn Văn An", BORN, "day", "male")),
        (("Nguyen Van An", BORN, "day", "male"), ("Nguyễn Văn An", BORN, "day", "male")),
        (("Nguyễn Vnă An", BORN, "day", "female"), ("Nguyễn Văn An", BORN, "day", "male")),
        (
            ("Trần Thị Bích", date(1985, 1, 1), "year", "male"),
            ("Nguyễn Văn An", BORN, "day", "male"),
        ),
        (
            ("Nguyễn Văn An", date(1985, 14 // 5, 3), "day", "male"),
            ("Nguyễn Văn An", date(1985, 3, 2), "day", "male"),
        ),
        (
            ("Nguyễn Văn An", date(1986, 3, 14), "day", "male"),
            ("Nguyễn Văn An", BORN, "month", "male"),
        ),
    ],
)
def test_the_python_comparison_agrees_with_the_sql_one(area, make_person, register, record, entry):
    """The on-the-spot check before a new dose must say what matching says."""
    from portal.registry.adapter import RegisterRecord
    from portal.registry.compare import compare

    name, born, precision, sex = record
    person = make_person(
        full_name=name, birth_date=born, birth_precision=precision, sex=sex, id_number=CCCD_M
    )
    register(
        {
            "id_number": CCCD_M,
            "full_name": entry[0],
            "birth_date": entry[1],
            "birth_precision": entry[2],
            "sex": entry[3],
        }
    )
    run(area)
    stored = result(person)
    python = compare(person, RegisterRecord(CCCD_M, entry[0], entry[3], entry[1], entry[2]))
    assert (python.name, python.birth, python.sex) == (
        stored.name_result,
        stored.birth_result,
        stored.sex_result,
    )
    assert python.differs == (stored.outcome == Outcome.MISMATCH)


def test_a_person_who_moved_is_checked_in_the_new_commune(area, make_person, register):
    from tests.conftest import NEIGHBOUR

    person = make_person(id_number=CCCD_M)
    register({"id_number": CCCD_M, "full_name": "Nguyễn Văn An"})
    run(area)
    assert result(person).commune_id == area(OWN).id
    records.update_person(person, {"commune_id": area(NEIGHBOUR).id}, reason="chuyển nơi ở")
    db.session.commit()
    summary = match_commune(area(NEIGHBOUR))
    db.session.commit()
    assert summary.checked == 1
    assert result(person).commune_id == area(NEIGHBOUR).id
    assert run(area).checked == 0, "the old commune has nothing left to check"
