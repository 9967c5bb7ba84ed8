"""Issue 15, item 5: the trail's filters and page links, malformed or at the end of the
calendar, answer a page or 400, never 500."""

from __future__ import annotations

import base64
import json

from portal.audit import services as audit
from portal.auth.models import Role
from portal.extensions import db
from tests.conftest import HANOI, OWN


def _link(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def test_until_the_last_day_of_the_calendar_has_no_end(client, login_as, make_user):
    here = make_user(Role.POLICE, OWN, username="congan.badinh")
    audit.record("person.update", "person", 41, {"sex": ["male", "female"]}, actor=here)
    db.session.commit()
    login_as(Role.ADMIN, HANOI)
    response = client.get("/audit?until=31/12/9999&action=person")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('data-testid="trail-row"') == 1
    assert client.get("/audit?since=31/12/9999&until=31/12/9999").status_code == 200


def test_a_page_link_out_of_range_or_malformed_is_a_400(client, login_as):
    login_as(Role.ADMIN, HANOI)
    nines = base64.urlsafe_b64encode(b"9" * 5000).decode()
    for after in (
        _link(99999999999999999999),
        _link([99999999999999999999]),
        _link([2**31]),
        nines,
        _link(0),
        _link([0]),
        _link([-5]),
        _link([True]),
        _link(["12"]),
        _link([1, 2]),
        "garbage",
        "%ff",
        "²",
        "e30",
    ):
        response = client.get("/audit", query_string={"after": after})
        assert response.status_code == 400, after
        assert "Liên kết trang không hợp lệ" in response.get_data(as_text=True)
