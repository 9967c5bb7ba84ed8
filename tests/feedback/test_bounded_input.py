"""Issue 15, item 5: the queue's page links, the complaint's id and the record linked to it,
malformed or beyond the ids' range, answer 400 or 404, never 500."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from tests.conftest import HANOI, OWN, csrf_token

HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "after",
    [
        f"9999-12-31T23:59:59|{HUGE}",
        "9999-12-31T23:59:59|²",
        "2026-01-01T00:00:00|0",
        "2026-01-01T00:00:00|-1",
        "2026-01-01T00:00:00",
        "|1",
        "x" * 500,
        "garbage",
    ],
)
def test_a_queue_page_link_out_of_range_or_malformed_is_a_400(
    client, login_as, file_feedback, after
):
    file_feedback()
    login_as(Role.ADMIN, HANOI)
    assert client.get("/feedback/queue", query_string={"after": after}).status_code == 400


def test_a_complaint_id_beyond_the_ids_range_is_not_found(client, login_as, file_feedback):
    feedback = file_feedback()
    login_as(Role.ADMIN, HANOI)
    assert client.get(f"/feedback/queue/{HUGE}").status_code == 404
    assert client.get(f"/feedback/queue/{feedback.id}/attachments/{HUGE}").status_code == 404


@pytest.mark.parametrize("person_id", ["²", "١", HUGE, "2147483648", "0", "-1", "+1", " 1", "1.0"])
def test_linking_a_malformed_record_id_is_a_400(client, login_as, at_station, person_id):
    login_as(Role.HEALTH_STATION, OWN)
    url = f"/feedback/queue/{at_station.id}"
    response = client.post(
        f"{url}/link", data={"person_id": person_id, "csrf_token": csrf_token(client, url)}
    )
    assert response.status_code == 400
