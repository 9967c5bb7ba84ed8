"""The staff queue's filters are a WTForms form (issue 16): a value it refuses gets its
message in Vietnamese, and the queue still shows, as without that filter."""

from __future__ import annotations

import pytest

from portal.auth.models import Role
from tests.conftest import OWN


@pytest.mark.parametrize(
    "args, message",
    [
        ({"state": "bogus"}, "Mốc thời hạn: Lựa chọn không hợp lệ."),
        ({"scope": "everyone"}, "Hàng đợi: Lựa chọn không hợp lệ."),
        ({"kind": "nonsense"}, "Nội dung sai sót: Lựa chọn không hợp lệ."),
        ({"q": "x" * 101}, "Mã, họ tên hoặc số định danh: Từ khoá tìm kiếm quá dài."),
    ],
)
def test_a_refused_filter_says_why_and_the_queue_still_shows(
    client, login_as, at_station, args, message
):
    login_as(Role.HEALTH_STATION, OWN)
    for headers in ({}, {"HX-Request": "true", "HX-Target": "queue-results"}):
        response = client.get("/feedback/queue", query_string=args, headers=headers)
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert message in page
        assert at_station.code in page


def test_valid_filters_give_no_message(client, login_as, at_station):
    login_as(Role.HEALTH_STATION, OWN)
    page = client.get(
        "/feedback/queue", query_string={"state": "all", "kind": "", "q": f" {at_station.code} "}
    ).get_data(as_text=True)
    assert 'data-testid="filter-errors"' not in page
    assert at_station.code in page


def test_an_export_ignores_a_refused_filter(client, login_as, at_station):
    login_as(Role.HEALTH_STATION, OWN)
    csv = client.get("/feedback/queue/export.csv", query_string={"state": "bogus"})
    assert csv.status_code == 200 and at_station.code in csv.get_data(as_text=True)
