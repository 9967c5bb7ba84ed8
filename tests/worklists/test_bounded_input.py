"""Issue 15, item 5: ids in the worklists' forms and page links, malformed or beyond the ids'
range, are refused (400, or the form's error), never a 500."""

from __future__ import annotations

import pytest

from tests.conftest import OWN, csrf_token

HUGE = "99999999999999999999"


@pytest.mark.parametrize("after", ["²", HUGE, "0", "-1", "1.5"])
def test_a_handover_page_link_out_of_range_or_malformed_is_a_400(client, login_as, after):
    login_as("police", OWN)
    assert client.get("/worklists/handover", query_string={"after": after}).status_code == 400


@pytest.mark.parametrize("person_id", ["²", HUGE, "2147483648", "0"])
def test_a_handover_list_of_malformed_ids_is_refused(client, login_as, make_person, person_id):
    login_as("police", OWN)
    response = client.post(
        "/worklists/handover/new",
        data={"csrf_token": csrf_token(client, "/records"), "person_ids": [person_id]},
    )
    assert response.status_code in (400, 422)


@pytest.mark.parametrize("person_id", ["²", HUGE, "2147483648", "0"])
def test_a_review_of_malformed_ids_is_refused(client, login_as, person_id):
    login_as("police", OWN)
    response = client.post(
        "/worklists/review",
        data={
            "csrf_token": csrf_token(client, "/records"),
            "person_ids": [person_id],
            "action": "verified_in_person",
            "note": "Đã xem CCCD bản gốc",
        },
    )
    assert response.status_code == 422
