"""The last-resort error handler (portal/core/web.py, ``_unexpected``): an exception that no
other handler knows becomes the portal's own 500, in Vietnamese, as a page, a fragment in
the page's message area or JSON, like every error; what the request had written is rolled
back, and the error is logged with its traceback."""

from __future__ import annotations

import logging
from datetime import date

import pytest
import sqlalchemy as sa

from portal.auth.models import Role
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import BirthPrecision, Person, Sex
from tests.conftest import OWN

MESSAGE = "Hệ thống gặp lỗi. Chưa có gì được lưu; vui lòng thử lại."
NAME = "Người Viết Dở Dang"


@pytest.fixture
def broken_records_page(app, area, monkeypatch):
    """The record list's view replaced by one that writes a person, then fails."""
    endpoint = app.url_map.bind("localhost").match("/records")[0]

    def broken(**_kwargs):
        record_services.create_person(
            {
                "full_name": NAME,
                "sex": Sex.FEMALE,
                "birth_date": date(1990, 1, 2),
                "birth_precision": BirthPrecision.DAY,
                "id_number": None,
                "commune_id": area(OWN).id,
            },
            reason="written before the failure",
        )
        db.session.flush()
        raise RuntimeError("boom in the view")

    monkeypatch.setitem(app.view_functions, endpoint, broken)
    return "/records"


def _people_named(name: str) -> int:
    db.session.remove()  # the request's session is gone; read afresh
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Person).where(Person.full_name == name)
    )


def test_an_unexpected_error_shows_the_portals_page_saves_nothing_and_is_logged(
    client, login_as, broken_records_page, caplog
):
    login_as(Role.HEALTH_STATION)
    with caplog.at_level(logging.ERROR):
        response = client.get(broken_records_page)
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert MESSAGE in body and "<html" in body
    assert "boom in the view" not in body and "Traceback" not in body
    assert "Internal Server Error" not in body
    assert _people_named(NAME) == 0
    logged = [r for r in caplog.records if r.getMessage() == "Unhandled error"]
    assert logged and logged[0].exc_info and "boom in the view" in str(logged[0].exc_info[1])


def test_an_unexpected_error_in_an_htmx_request_goes_to_the_message_area(
    client, login_as, broken_records_page
):
    login_as(Role.HEALTH_STATION)
    response = client.get(broken_records_page, headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert response.headers["HX-Retarget"] == "#messages"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert MESSAGE in body and "<html" not in body
    assert _people_named(NAME) == 0


def test_an_unexpected_error_answers_json_to_a_client_that_asks_for_it(
    client, login_as, broken_records_page
):
    login_as(Role.HEALTH_STATION)
    response = client.get(broken_records_page, headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json() == {"error": MESSAGE, "status": 500}
    assert _people_named(NAME) == 0
