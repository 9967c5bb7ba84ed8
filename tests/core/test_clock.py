"""Issue 16, one clock: portal.core.clock is the only place that reads the time or names
Vietnam's zone, and every entry point takes "today" from it — so at 00:30 in Vietnam, on a
server whose own zone is UTC (where it is still yesterday, 17:30), a date of today is
accepted and tomorrow's refused.

The clock is frozen by patching ``portal.core.clock.now`` alone: code that read the time
any other way would see the real date (years later) and accept "tomorrow"."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

import portal
from portal.core import clock
from portal.extensions import db
from portal.feedback.models import Feedback
from portal.imports.models import BatchState
from portal.records.models import Dose
from portal.registry import remote
from portal.registry.extract import import_extract
from portal.registry.models import ExtractMode, RegisterEntry
from tests.conftest import OWN, csrf_token
from tests.imports.helpers import check, row, xlsx

# 00:30 on 16/03/2025 in Vietnam is 17:30 on 15/03/2025 in UTC (the server's zone).
FROZEN = datetime(2025, 3, 15, 17, 30, tzinfo=UTC)
TODAY, YESTERDAY_IN_UTC, TOMORROW = date(2025, 3, 16), date(2025, 3, 15), date(2025, 3, 17)
PORTAL = Path(portal.__file__).resolve().parent
# What only the clock module may say: the machine's date or time, or a zone of its own.
FORBIDDEN = re.compile(r"\bdate\.today\(|\bdatetime\.(?:now|utcnow|today)\(|\bZoneInfo\(")


def text(day: date) -> str:
    return day.strftime("%d/%m/%Y")


@pytest.fixture
def frozen(monkeypatch):
    """The server's own zone is UTC, and the one clock says 00:30 on TODAY in Vietnam."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(clock, "now", lambda: FROZEN)
    yield
    monkeypatch.undo()
    time.tzset()


def test_nothing_outside_the_clock_module_reads_the_time_or_names_a_zone():
    found = []
    for path in sorted(PORTAL.rglob("*.py")):
        if path == PORTAL / "core" / "clock.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FORBIDDEN.search(line):
                found.append(f"{path.relative_to(PORTAL.parent)}:{number}: {line.strip()}")
    assert found == [], "use portal.core.clock instead:\n" + "\n".join(found)


def test_the_clock_says_vietnams_date_and_time_on_a_utc_server(frozen):
    assert clock.utcnow() == datetime(2025, 3, 15, 17, 30)
    assert clock.today_in_vietnam() == TODAY
    assert clock.vietnam_now().strftime("%H:%M") == "00:30"
    assert clock.vietnam_date(datetime(2025, 3, 15, 17, 0)) == TODAY
    assert clock.vietnam_date(datetime(2025, 3, 15, 16, 59)) == YESTERDAY_IN_UTC
    assert clock.local_midnight_utc(TODAY) == datetime(2025, 3, 15, 17, 0)
    assert clock.format_date(datetime(2025, 3, 15, 17, 30)) == "16/03/2025"
    assert clock.format_minute(datetime(2025, 3, 15, 17, 30)) == "16/03/2025 00:30"
    assert clock.format_time(FROZEN) == "16/03/2025 00:30:00"
    assert clock.format_date(None) == clock.format_time(None) == ""


def _post_dose(client, person, day: date):
    data = {
        "csrf_token": csrf_token(client, f"/records/{person.id}"),
        "dose_number": 1,
        "vaccine": "EU/1/20/1528",
        "lot": "FK0001",
        "vaccinated_on": text(day),
    }
    return client.post(f"/records/{person.id}/doses", data=data)


def test_dose_entry_accepts_todays_vietnamese_date_and_refuses_tomorrow(
    frozen, client, login_as, make_site, make_person, make_register
):
    site = make_site(OWN)
    db.session.commit()
    login_as("vaccination_site", OWN, site=site)
    person = make_person(id_number="001085000042", full_name="Nguyễn Văn An")
    make_register({"id_number": "001085000042", "full_name": "Nguyễn Văn An"})

    page = client.get(f"/records/{person.id}/doses/new").get_data(as_text=True)
    assert f'value="{text(TODAY)}"' in page, "the form offers today's Vietnamese date"
    refused = _post_dose(client, person, TOMORROW)
    assert refused.status_code in (200, 400, 422)
    assert "tương lai" in refused.get_data(as_text=True)
    assert _post_dose(client, person, TODAY).status_code == 303
    assert db.session.scalars(sa.select(Dose.vaccinated_on)).all() == [TODAY]


def _complain(client, day: date):
    data = {
        "full_name": "Trần Thị Bình",
        "id_number": "001190012345",
        "birth_date": "17/05/1990",
        "phone": "0912 345 678",
        "kind": "missing_dose",
        "province": "01",
        "commune": OWN,
        "description": "Mũi 2 không có trên hệ thống.",
        "dose_number": "2",
        "vaccinated_on": text(day),
        "csrf_token": csrf_token(client, "/feedback/new"),
    }
    return client.post("/feedback/new", data=data, content_type="multipart/form-data")


def test_the_complaint_form_accepts_a_dose_of_today_in_vietnam(frozen, client, area):
    refused = _complain(client, TOMORROW)
    assert refused.status_code != 303 and "tương lai" in refused.get_data(as_text=True)
    assert _complain(client, TODAY).status_code == 303
    assert db.session.scalars(sa.select(Feedback.vaccinated_on)).all() == [TODAY]


def test_the_register_import_accepts_a_dose_of_today_in_vietnam(frozen, area):
    from portal.imports import services as imports

    batch = check(
        xlsx(
            [
                row(dose=1, vaccine="Pfizer-BioNTech (Comirnaty)", on=text(TODAY)),
                row(
                    "Trần Thị Bình",
                    "Nữ",
                    "01/01/1990",
                    "123456789",
                    dose=1,
                    vaccine="Pfizer-BioNTech (Comirnaty)",
                    on=text(TOMORROW),
                ),
            ]
        ),
        area(OWN),
    )
    assert (batch.valid_rows, batch.error_rows) == (1, 1)
    [(number, errors, _)] = [i for i in batch.report["issues"] if i[1]]
    assert number == 3 and "tương lai" in " ".join(errors)
    assert batch.checked_rows is not None
    imports.commit_batch(batch)
    db.session.commit()
    assert batch.state == BatchState.COMMITTED
    assert db.session.scalars(sa.select(Dose.vaccinated_on)).all() == [TODAY]


def _extract(day: date):
    data = (
        f"id_number,full_name,sex,birth_date\r\n001225000001,Nguyễn Văn An,Nam,{text(day)}\r\n"
    ).encode()
    parsed, summary = import_extract(io.BytesIO(data), "trich-xuat.csv", ExtractMode.MERGE)
    db.session.commit()
    return parsed, summary


def test_the_register_extract_accepts_a_birth_of_today_in_vietnam(frozen, app):
    parsed, summary = _extract(TOMORROW)
    assert summary is None and [(e.row, e.column) for e in parsed.errors] == [(2, "birth_date")]
    parsed, summary = _extract(TODAY)
    assert summary is not None, [str(e.message) for e in parsed.errors]
    assert db.session.scalars(sa.select(RegisterEntry.birth_date)).all() == [TODAY]


def test_the_remote_register_accepts_a_birth_of_today_in_vietnam(frozen, app):
    record = {
        "id_number": "001225000001",
        "full_name": "Nguyễn Văn An",
        "sex": "male",
        "birth_date": TODAY.isoformat(),
    }
    assert (
        remote._parse({"records": [record]}, ["001225000001"])["001225000001"].birth_date == TODAY
    )
    with pytest.raises(remote.RegisterUnavailable, match="tương lai"):
        remote._parse(
            {"records": [{**record, "birth_date": TOMORROW.isoformat()}]}, ["001225000001"]
        )


def test_a_birth_date_is_shown_as_precisely_as_it_is_known():
    from portal.core.clock import format_birth
    from portal.records.models import BirthPrecision

    born = date(1905, 3, 7)
    assert format_birth(born, BirthPrecision.DAY) == "07/03/1905"
    assert format_birth(born, "month") == "03/1905"
    assert format_birth(born, BirthPrecision.YEAR) == "1905"
    assert format_birth(date(2021, 12, 31), "day") == "31/12/2021"
    assert format_birth(None, "day") == ""
