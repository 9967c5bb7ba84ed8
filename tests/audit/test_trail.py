"""The audit trail page: who reads it and whose events, filters, keyset pages, fragment,
export."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.clock import today_in_vietnam
from portal.extensions import db
from tests.conftest import CAO_BANG, HANOI, OTHER_PROVINCE, OWN


@pytest.fixture
def events(make_user):
    """A change by a Ba Đình police officer, one in Cao Bằng, one by the command line."""
    here = make_user(Role.POLICE, OWN, username="congan.badinh")
    there = make_user(Role.POLICE, OTHER_PROVINCE, username="congan.caobang")
    audit.record(
        "person.update",
        "person",
        41,
        {"full_name": ["Nguyen Van A", "Nguyễn Văn A"]},
        reason="Sửa dấu theo CCCD",
        actor=here,
    )
    audit.record("person.update", "person", 42, {"sex": ["male", "female"]}, actor=there)
    audit.record("registry.match", "area", OWN, {"checked": [None, 10]})
    db.session.commit()


def _page(client, query=""):
    response = client.get("/audit" + query)
    return response, response.get_data(as_text=True)


def test_an_administrator_reads_the_events_of_the_people_of_their_province(
    client, login_as, events
):
    login_as(Role.ADMIN, HANOI)
    response, page = _page(client)
    assert response.status_code == 200
    assert "congan.badinh" in page and "Nguyen Van A → Nguyễn Văn A" in page
    assert "Sửa dấu theo CCCD" in page and 'href="/records/41"' in page
    assert "Sửa bản ghi<div><code>person.update</code></div>" in page
    assert '<span class="text-muted">42</span>' not in page  # Cao Bằng's change
    assert "<code>registry.match</code>" not in page  # no actor, no area: not shown


def test_a_health_authority_reads_its_own_province(client, login_as, events):
    login_as(Role.HEALTH_AUTHORITY, CAO_BANG)
    _response, page = _page(client)
    assert '<span class="text-muted">42</span>' in page
    assert '<span class="text-muted">41</span>' not in page


@pytest.mark.parametrize(
    "role", [Role.POLICE, Role.HEALTH_STATION, Role.COMMITTEE, Role.VACCINATION_SITE]
)
def test_commune_roles_may_not_read_the_trail(client, login_as, role):
    login_as(role, OWN)
    assert client.get("/audit").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403
    assert 'href="/audit"' not in client.get("/records").get_data(as_text=True)


def test_filters_by_actor_action_entity_and_local_days(client, login_as, events):
    login_as(Role.ADMIN, HANOI)
    _r, page = _page(client, "?actor=CONGAN.BADINH")
    assert page.count('data-testid="trail-row"') == 1 and "<code>person.update</code>" in page
    _r, page = _page(client, "?action=auth")
    assert "<code>auth.login</code>" in page and "<code>person.update</code>" not in page
    _r, page = _page(client, "?entity_type=person&entity_id=41")
    assert page.count('data-testid="trail-row"') == 1
    today = today_in_vietnam()
    _r, page = _page(client, f"?since={today:%d/%m/%Y}&until={today:%d/%m/%Y}&action=person")
    assert page.count('data-testid="trail-row"') == 1
    yesterday = today - timedelta(days=1)
    _r, page = _page(client, f"?until={yesterday:%d/%m/%Y}&action=person")
    assert page.count('data-testid="trail-row"') == 0

    response, page = _page(client, "?since=31/02/2026&actor=congan.badinh")
    assert response.status_code == 422
    assert 'id="trail-since-error"' in page and "dd/mm/yyyy" in page
    assert 'value="congan.badinh"' in page  # what was typed stays
    response, page = _page(client, "?since=10/01/2026&until=09/01/2026")
    assert response.status_code == 422 and 'id="trail-until-error"' in page
    assert "Ngày kết thúc trước ngày bắt đầu" in page


def test_pages_go_back_in_time_without_overlap_and_answer_fragments(client, login_as, make_user):
    officer = make_user(Role.POLICE, OWN)
    for n in range(60):
        audit.record("person.update", "person", n + 1, {"phone": [None, str(n)]}, actor=officer)
    db.session.commit()
    admin = login_as(Role.ADMIN, HANOI)
    del admin
    _r, first = _page(client, "?action=person")
    assert first.count('data-testid="trail-row"') == 50
    older = re.search(r'href="(/audit\?[^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    _r, second = _page(client, older[len("/audit") :])
    assert second.count('data-testid="trail-row"') == 10
    shown = re.findall(r'href="/records/(\d+)"', first + second)
    assert sorted(map(int, shown)) == list(range(1, 61))

    fragment = client.get(
        "/audit?action=person", headers={"HX-Request": "true", "HX-Target": "trail-results"}
    )
    body = fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="trail-results"') and "<html" not in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_the_export_has_the_changes_neutralised_and_is_itself_audited(client, login_as, make_user):
    officer = make_user(Role.POLICE, OWN)
    audit.record("person.update", "person", 7, {"full_name": ["A", "=1+1"]}, actor=officer)
    db.session.commit()
    login_as(Role.ADMIN, HANOI)
    response = client.get("/audit/export.csv?action=person")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Thời gian (giờ Việt Nam)" and len(rows) == 2
    assert rows[1][4:6] == ["Sửa bản ghi", "person.update"]  # the action in words, its code
    assert rows[1][8] == "Họ và tên: A → =1+1"  # the field in words, as the record history
    xlsx = client.get("/audit/export.xlsx?action=person")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "audit.export")
        )
        == 2
    )


def test_a_wrong_filter_says_why_beside_the_field(client, login_as):
    """Issue 13 (smaller ones): the audit trail's filter errors were silent (a 422 with no
    message: the htmx search replaces the results, and the message sat in the form). The
    Vietnamese message now comes beside the field, and above the results."""
    login_as(Role.ADMIN, HANOI)
    response = client.get(
        "/audit?since=31/02/2026", headers={"HX-Request": "true", "HX-Target": "trail-results"}
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    message = "Nhập ngày theo dạng dd/mm/yyyy"
    beside = re.search(
        r'<div class="invalid-feedback d-block" id="trail-since-error" '
        r'hx-swap-oob="true">([^<]*)</div>',
        body,
    )
    assert beside and message in beside.group(1)
    assert 'data-testid="trail-errors"' in body and message in body
    page = client.get("/audit?since=31/02/2026").get_data(as_text=True)
    assert re.search(r'id="trail-since-error">[^<]*' + message, page)


def test_changes_are_in_words_and_vietnam_time(client, login_as, make_user):
    """Issue 13 (seen walking the health authority's day): the trail's "changes" showed raw
    keys and stored UTC times ("answered_at: — → 2026-12-07T06:28:06", seven hours behind
    the screen); they read as the record history does, on the page and in the export."""
    officer = make_user(Role.POLICE, OWN)
    audit.record(
        "person.update",
        "person",
        7,
        {
            "birth_date": ["1990-01-31", "1990-03-01"],
            "answered_at": [None, "2026-12-07T06:28:06.438236"],
        },
        actor=officer,
    )
    db.session.commit()
    login_as(Role.ADMIN, HANOI)
    page = client.get("/audit?action=person").get_data(as_text=True)
    assert "Ngày sinh: 31/01/1990 → 01/03/1990" in page
    assert "07/12/2026 13:28" in page and "2026-12-07T06:28" not in page
    assert "birth_date:" not in page
    exported = client.get("/audit/export.csv?action=person").get_data(as_text=True)
    assert "Ngày sinh: 31/01/1990 → 01/03/1990" in exported and "13:28" in exported


def test_a_complaints_changes_read_in_words(client, login_as, make_user):
    """Issue 13 (seen walking the health authority's day): a complaint's events showed
    "status: in_progress → answered" and "unit_area_id: 1 → 37"; they read in words."""
    from portal.areas.services import area_by_code

    officer = make_user(Role.HEALTH_AUTHORITY, HANOI)
    commune = area_by_code(OWN)
    audit.record(
        "feedback.reassign",
        "feedback",
        3,
        {
            "status": ["in_progress", "answered"],
            "unit_area_id": [None, commune.id],
            "kind": [None, "committee_list"],
        },
        actor=officer,
    )
    db.session.commit()
    login_as(Role.ADMIN, HANOI)
    page = client.get("/audit?action=feedback").get_data(as_text=True)
    assert "Trạng thái: Đang xử lý → Đã trả lời" in page
    assert f"Địa bàn của đơn vị xử lý: — → {commune.name}" in page
    assert "Loại: — → Danh sách xác nhận của UBND" in page
    assert "unit_area_id" not in page and "in_progress" not in page and "committee_list" not in page


def test_a_wrong_filter_or_page_link_still_shows_the_trail(client, login_as, make_user):
    """Issue 16: the trail's search is a WTForms form; a value in error is shown beside its
    field and left out of the search, so the trail still shows; a page link the portal did
    not make gives the first page and says why, never a 500."""
    officer = make_user(Role.POLICE, OWN)
    audit.record("person.update", "person", 7, {"phone": [None, "1"]}, actor=officer)
    db.session.commit()
    login_as(Role.ADMIN, HANOI)
    response, page = _page(client, "?since=99/99/2026&action=person")
    assert response.status_code == 422
    assert re.search(r'id="trail-since-error">[^<]*Nhập ngày theo dạng dd/mm/yyyy', page)
    assert 'aria-describedby="trail-since-error"' in page and 'aria-invalid="true"' in page
    assert page.count('data-testid="trail-row"') == 1  # the list, by the valid filter
    for cursor in ("x", "%%%", "WzBd"):
        response, page = _page(client, f"?action=person&after={cursor}")
        assert response.status_code == 400
        assert "Liên kết trang không hợp lệ" in page
        assert page.count('data-testid="trail-row"') == 1  # the first page


def test_a_day_box_shows_the_day_as_typed_and_the_export_keeps_it(client, login_as, events):
    """Issue 16 (forms): the trail's days are read by the portal's DayField; a day read
    stays as typed in its box and in the export's link, one it cannot read is left out
    (its box empty, its message beside it)."""
    login_as(Role.ADMIN, HANOI)
    response, page = _page(client, "?since=1/2/2026&until=")
    assert response.status_code == 200
    assert 'value="1/2/2026"' in page and "since=1/2/2026" in page.replace("%2F", "/")
    response, page = _page(client, "?since=31/02/2026&until=2026-03-01")
    assert response.status_code == 422
    assert 'value="31/02/2026"' not in page and 'value="2026-03-01"' in page
