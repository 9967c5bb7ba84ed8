"""The counters equal a GROUP BY of the tables after every kind of change, on both databases."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from portal.dashboard import services
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import Dose, DoseTally, Person, PersonStatus, PersonTally
from portal.registry.matching import match_commune
from tests.conftest import NEIGHBOUR, OTHER_PROVINCE, OWN


def _tallies():
    persons = {
        (c, s): n
        for c, s, n in db.session.execute(
            sa.select(PersonTally.commune_id, PersonTally.status, PersonTally.n)
        )
        if n
    }
    doses = {
        (c, s, v): n
        for c, s, v, n in db.session.execute(
            sa.select(DoseTally.commune_id, DoseTally.site_id, DoseTally.vaccine, DoseTally.n)
        )
        if n
    }
    return persons, doses


def _truth():
    persons = {
        (c, str(getattr(s, "value", s))): n
        for c, s, n in db.session.execute(
            sa.select(Person.commune_id, Person.status, sa.func.count()).group_by(
                Person.commune_id, Person.status
            )
        )
    }
    site = sa.func.coalesce(Dose.site_id, 0)
    doses = {
        (c, s, v): n
        for c, s, v, n in db.session.execute(
            sa.select(Person.commune_id, site, Dose.vaccine, sa.func.count())
            .join(Person, Person.id == Dose.person_id)
            .group_by(Person.commune_id, site, Dose.vaccine)
        )
    }
    return persons, doses


VAXZEVRIA = "EU/1/21/1529"


def _dose(person, number, vaccine, site=None):
    return record_services.add_dose(
        person,
        {
            "dose_number": number,
            "vaccine": vaccine,
            "vaccinated_on": date(2021, 8, number),
            "site_id": site.id if site else None,
        },
    )


def test_counters_follow_inserts_updates_moves_and_deletes(
    make_person, make_site, area, make_register
):
    site = make_site(OWN)
    a = make_person(full_name="Trần Thị Bình", id_number="001185000001")
    b = make_person(full_name="Lê Văn Cường", id_number=None)
    c = make_person(full_name="Phạm Đức Dũng", commune_code=NEIGHBOUR, id_number="12345")
    make_person(commune_code=OTHER_PROVINCE, full_name="Hoàng Văn Em")
    _dose(a, 1, "AstraZeneca (Vaxzevria)", site)
    _dose(a, 2, "Pfizer-BioNTech (Comirnaty)", site)
    _dose(b, 1, "Vero Cell (Sinopharm)")
    _dose(c, 1, "AstraZeneca (Vaxzevria)", site)
    db.session.commit()
    assert _tallies() == _truth()

    # Matching changes statuses set-based (UPDATE … FROM on both databases).
    make_register({"id_number": "001185000001", "full_name": "Trần Thị Bình", "sex": "female"})
    match_commune(area(OWN), full=True)
    match_commune(area(NEIGHBOUR), full=True)
    db.session.commit()
    assert _tallies() == _truth()
    assert db.session.get(Person, b.id).status == PersonStatus.MISSING_ID
    from portal.records.models import TallyPause

    assert db.session.scalar(sa.select(sa.func.count()).select_from(TallyPause)) == 0

    # A person moves: their status count and their doses' counts move along.
    record_services.update_person(a, {"commune_id": area(NEIGHBOUR).id}, "chuyển nơi ở")
    db.session.commit()
    persons, doses = _tallies()
    assert (persons, doses) == _truth()
    # Counted under the product's code (issue 13, item 5), whatever name it was given in.
    assert doses[(area(NEIGHBOUR).id, site.id, VAXZEVRIA)] == 2

    # A dose changes vaccine and site, then one is deleted.
    dose = db.session.scalar(sa.select(Dose).where(Dose.person_id == b.id))
    dose.vaccine = "EU/1/20/1507"  # Spikevax
    dose.site_id = site.id
    db.session.flush()
    db.session.delete(db.session.scalar(sa.select(Dose).where(Dose.person_id == c.id)))
    db.session.commit()
    assert _tallies() == _truth()

    # Bulk statements count like single rows — a bulk move (communes merged) too: each
    # moved person's doses go along with them.
    db.session.execute(
        sa.update(Person)
        .where(Person.commune_id == area(NEIGHBOUR).id)
        .values(commune_id=area(OWN).id)
    )
    db.session.flush()
    persons, doses = _tallies()
    assert (persons, doses) == _truth()
    assert doses[(area(OWN).id, site.id, VAXZEVRIA)] == 1
    db.session.execute(
        sa.update(Person)
        .where(Person.commune_id == area(OWN).id)
        .values(status=PersonStatus.VERIFIED)
    )
    db.session.execute(sa.delete(Dose).where(Dose.person_id == a.id))
    db.session.commit()
    assert _tallies() == _truth()


def test_recount_rebuilds_broken_counters(make_person):
    make_person(id_number=None)
    make_person(full_name="Đặng Thị Hoa", id_number=None)
    db.session.execute(sa.update(PersonTally).values(n=999))
    db.session.commit()
    assert _tallies() != _truth()
    services.recount()
    db.session.commit()
    assert _tallies() == _truth()


def test_snapshot_copies_todays_counters(make_person):
    from portal.dashboard.models import DailyTally

    make_person(id_number=None)
    day = date(2026, 12, 1)
    services.snapshot(day)
    services.snapshot(day)  # again the same day: replaced, not added
    db.session.commit()
    rows = {
        (c, s): n
        for c, s, n in db.session.execute(
            sa.select(DailyTally.commune_id, DailyTally.status, DailyTally.n).where(
                DailyTally.day == day
            )
        )
    }
    assert rows == _tallies()[0]


def test_counters_after_an_import_and_after_a_failed_one(make_person, make_site, area, monkeypatch):
    """On SQLite the import's commit drops the two insert triggers for its inserts and adds
    its counts at once: the counters must still equal the GROUP BY, the triggers must be
    back afterwards, and a commit that fails must leave both as they were."""
    from portal.imports import services as imports
    from tests.imports.helpers import ASTRA, PFIZER, row, xlsx

    site = make_site(OWN, code="TYT-BA-DINH")
    known = make_person(full_name="Trần Thị Bình", id_number="001185000001", sex="female")
    _dose(known, 1, ASTRA, site)
    make_person(commune_code=NEIGHBOUR, full_name="Phạm Đức Dũng", id_number=None)
    db.session.commit()
    data = xlsx(
        [
            row(dose=1, vaccine=ASTRA, on="20/08/2021", extra={12: site.code}),
            row(dose=2, vaccine=PFIZER, on="01/10/2021"),
            row("Lê Thị Hạ", "Nữ", "01/01/1990", "079190000123"),
            row(
                "Trần Thị Bình",
                "Nữ",
                "14/03/1985",
                "001185000001",
                dose=1,
                vaccine=ASTRA,
                on="01/08/2021",
                extra={12: site.code},
            ),  # already recorded
            row(
                "Trần Thị Bình",
                "Nữ",
                "14/03/1985",
                "001185000001",
                dose=2,
                vaccine=PFIZER,
                on="01/09/2021",
                extra={12: site.code},
            ),  # new
        ]
    )
    before = _tallies()

    failing = imports.create_batch(data, "ds.xlsx", area(OWN))
    imports.check_batch(failing)
    db.session.commit()

    def crash(*_args, **_kw):
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(imports, "_insert_doses", crash)
        imports.commit_batch(failing)
    db.session.rollback()
    assert _tallies() == before == _truth()

    batch = imports.create_batch(data, "ds.xlsx", area(OWN))
    imports.check_batch(batch)
    summary = imports.commit_batch(batch)
    db.session.commit()
    assert (summary["persons_created"], summary["doses_created"]) == (2, 3)
    persons, doses = _tallies()
    assert (persons, doses) == _truth()
    assert persons[(area(OWN).id, "unverified")] == 3
    assert doses[(area(OWN).id, site.id, VAXZEVRIA)] == 2
    assert doses[(area(OWN).id, site.id, "EU/1/20/1528")] == 1

    # The insert triggers count again once the import is over.
    later = make_person(full_name="Hoàng Văn Em", id_number=None)
    _dose(later, 1, "Moderna (Spikevax)")
    db.session.commit()
    assert _tallies() == _truth()
    if db.session.get_bind().dialect.name == "sqlite":
        names = set(
            db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
        )
        assert {"tally_person_ai", "tally_dose_ai"} <= names


def test_a_person_inserted_with_their_dose_in_one_statement_counts_the_dose_once(area):
    """PostgreSQL: a data-modifying CTE inserts a person and their dose in one statement;
    both statement triggers then see the dose. Only the dose's own trigger counts it (the
    person's trigger once joined its new persons with the whole dose table as well)."""
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no data-modifying CTE; its row triggers count per row")
    commune = area(OWN)
    db.session.execute(
        sa.text(
            "WITH p AS (INSERT INTO person (full_name, name_norm, name_folded, name_sort, sex, "
            "birth_date, birth_precision, id_kind, nationality, commune_id, province_id, status, "
            "version, created_at, updated_at) VALUES ('Nguyễn Văn An', 'nguyễn văn an', "
            "'nguyen van an', 'an nguyen van', 'male', '1990-01-01', 'day', 'none', 'VN', :c, "
            ":p, 'unverified', 1, now(), now()) RETURNING id) "
            "INSERT INTO dose (person_id, dose_number, vaccine, vaccinated_on) "
            "SELECT id, 1, 'AstraZeneca (Vaxzevria)', '2021-08-01' FROM p"
        ),
        {"c": commune.id, "p": commune.parent_id},
    )
    db.session.commit()
    assert _tallies() == _truth()
