"""Issue 13, item 5: one vaccine is one product with a stable code, counted once."""

from __future__ import annotations

import os
from datetime import date

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal import create_app
from portal.dashboard import queries
from portal.extensions import db
from portal.records import services as record_services
from portal.records import vaccines
from portal.records.models import Dose
from tests.conftest import OWN, login
from tests.imports.helpers import check, row, xlsx

COMIRNATY = "EU/1/20/1528"


def test_every_spelling_of_one_vaccine_is_stored_as_its_code_and_counted_once(
    area, make_person, make_site
):
    """Issue 13, item 5: "Pfizer-BioNTech" (old records), "Pfizer-BioNTech (Comirnaty)"
    (the template and the form) and the code are one row on the dashboard."""
    from portal.imports import services as imports

    site = make_site(OWN)
    first = make_person(full_name="Trần Thị Bình", id_number="001185000001")
    second = make_person(full_name="Lê Văn Cường", id_number="001085000002")
    record_services.add_dose(
        first,
        {
            "dose_number": 1,
            "vaccine": "Pfizer-BioNTech",
            "vaccinated_on": date(2021, 8, 1),
            "site_id": site.id,
        },
    )
    record_services.add_dose(
        second, {"dose_number": 1, "vaccine": COMIRNATY, "vaccinated_on": date(2021, 8, 1)}
    )
    batch = check(
        xlsx(
            [
                row(
                    "Phạm Đức Dũng",
                    "Nam",
                    "14/03/1985",
                    "001085000003",
                    dose=1,
                    vaccine="pfizer-biontech (comirnaty)",
                    on="02/08/2021",
                )
            ]
        ),
        area(OWN),
    )
    imports.commit_batch(batch)
    db.session.commit()
    assert set(db.session.scalars(sa.select(Dose.vaccine))) == {COMIRNATY}
    assert queries.doses_by_vaccine(area(OWN)) == [("Comirnaty (Pfizer-BioNTech)", 3)]


def test_the_catalogue_holds_the_eu_dcc_codes_and_reads_common_names(app):
    """Issue 13, item 5: codes from the EU DCC value sets, names in Vietnamese; the code,
    the name and the common names (any case, any diacritics) resolve to the code."""
    catalogue = vaccines.catalogue()
    comirnaty = catalogue.by_code[COMIRNATY]
    assert (comirnaty.prophylaxis_code, comirnaty.manufacturer_code) == (
        "1119349007",
        "ORG-100030215",
    )
    assert {
        "EU/1/20/1507",
        "EU/1/21/1529",
        "Covishield",
        "Sputnik-V",
        "BBIBP-CorV",
        "Abdala",
        "Hayat-Vax",
        "EU/1/20/1525",
        "Covaxin",
    } <= set(catalogue.by_code)
    for text, code in [
        ("Comirnaty (Pfizer-BioNTech)", COMIRNATY),
        ("PFIZER", COMIRNATY),
        ("vero cell", "BBIBP-CorV"),
        ("Sinopharm", "BBIBP-CorV"),
        ("Sputnik V", "Sputnik-V"),
        ("astrazeneca", "EU/1/21/1529"),
        ("Vắc xin Moderna", "EU/1/20/1507"),
        ("vac xin moderna", "EU/1/20/1507"),
        ("Covishield", "Covishield"),
        ("Nước lã", None),
    ]:
        assert catalogue.resolve(text) == code, text
    assert catalogue.name("EU/1/20/1507") == "Spikevax (Moderna)"


def test_the_new_dose_form_makes_the_vaccine_a_choice_and_dates_today_in_vietnam(
    client, make_user, make_person, make_site, monkeypatch
):
    """Issue 13, item 5: no vaccine is chosen by default (the options are the codes, by
    their Vietnamese names); the date is today's in Viet Nam."""
    import portal.records.dose_routes as routes

    site = make_site(OWN)
    make_user("vaccination_site", OWN, site=site, username="site.vaccines")
    person = make_person(id_number="001085000042")
    login(client, "site.vaccines")
    monkeypatch.setattr(routes, "today_in_vietnam", lambda: date(2021, 9, 3))
    page = client.get(f"/records/{person.id}/doses/new").get_data(as_text=True)
    select = page[page.index('name="vaccine"') :].split("</select>")[0]
    assert '<option value="">' in select and "selected" not in select
    assert f'<option value="{COMIRNATY}">Comirnaty (Pfizer-BioNTech)</option>' in page
    assert 'value="03/09/2021"' in page


def test_migration_0019_maps_the_stored_names_to_codes_and_back(tmp_path):
    """Issue 13, item 5: doses and their dashboard counters move from the free-text names
    to the codes; a text no product matches stays; the downgrade writes the old names."""
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}",
        }
    )
    directory = os.path.join(app.root_path, "..", "migrations")
    with app.app_context():
        upgrade(directory=directory, revision="0016")
        with db.engine.connect() as connection:
            connection.exec_driver_sql(
                "INSERT INTO area (id, code, name, kind, division_type, parent_id, province_id, "
                "legacy) VALUES (1, '01', 'Hà Nội', 'province', 'thành phố', NULL, NULL, 0), "
                "(7, '00004', 'Ba Đình', 'commune', 'phường', 1, 1, 0)"
            )
            connection.exec_driver_sql(
                "INSERT INTO person (id, full_name, name_norm, name_folded, name_sort, sex, "
                "birth_date, birth_precision, id_kind, nationality, commune_id, province_id, "
                "status, version, created_at, updated_at) VALUES (1, 'A', 'a', 'a', 'a', "
                "'male', '1985-01-01', 'year', 'none', 'VN', 7, 1, 'unverified', 1, "
                "'2021-01-01 00:00:00', '2021-01-01 00:00:00')"
            )
            for number, name in enumerate(
                [
                    "Pfizer-BioNTech",
                    "Pfizer-BioNTech (Comirnaty)",
                    "AstraZeneca",
                    "Vero Cell (Sinopharm)",
                    "sputnik v",
                    "Thuốc lạ",
                ],
                start=1,
            ):
                connection.exec_driver_sql(
                    "INSERT INTO dose (person_id, dose_number, vaccine, vaccinated_on) "
                    f"VALUES (1, {number}, '{name}', '2021-08-0{number}')"
                )
            connection.commit()
        upgrade(directory=directory, revision="0019")
        with db.engine.connect() as connection:
            doses = [
                v
                for (v,) in connection.exec_driver_sql(
                    "SELECT vaccine FROM dose ORDER BY dose_number"
                )
            ]
            tallies = dict(
                connection.exec_driver_sql("SELECT vaccine, n FROM dose_tally WHERE n <> 0").all()
            )
        assert doses == [
            COMIRNATY,
            COMIRNATY,
            "EU/1/21/1529",
            "BBIBP-CorV",
            "Sputnik-V",
            "Thuốc lạ",
        ]
        assert tallies == {
            COMIRNATY: 2,
            "EU/1/21/1529": 1,
            "BBIBP-CorV": 1,
            "Sputnik-V": 1,
            "Thuốc lạ": 1,
        }
        downgrade(directory=directory, revision="0016")
        with db.engine.connect() as connection:
            doses = [
                v
                for (v,) in connection.exec_driver_sql(
                    "SELECT vaccine FROM dose ORDER BY dose_number"
                )
            ]
        assert doses == [
            "Pfizer-BioNTech (Comirnaty)",
            "Pfizer-BioNTech (Comirnaty)",
            "AstraZeneca (Vaxzevria)",
            "Vero Cell (Sinopharm)",
            "Sputnik V",
            "Thuốc lạ",
        ]
        db.engine.dispose()
