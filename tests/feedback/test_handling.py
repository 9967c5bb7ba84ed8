"""Staff handling: queues by unit, opening, linking, answering, closing, the audit trail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.feedback.models import FeedbackStatus, Notification, UnitKind
from portal.feedback.services import deliver_pending
from tests.conftest import CAO_BANG, HANOI, NEIGHBOUR, OTHER_PROVINCE, OWN, csrf_token, login


@pytest.mark.parametrize(
    "role, area_code, sees",
    [
        (Role.HEALTH_STATION, OWN, True),
        (Role.HEALTH_STATION, NEIGHBOUR, False),
        (Role.HEALTH_STATION, OTHER_PROVINCE, False),
        (Role.HEALTH_AUTHORITY, HANOI, True),  # the province oversees its complaints
        (Role.HEALTH_AUTHORITY, CAO_BANG, False),
        (Role.POLICE, OWN, False),
    ],
)
def test_who_sees_and_opens_a_complaint(client, login_as, at_station, role, area_code, sees):
    login_as(role, area_code)
    detail = client.get(f"/feedback/queue/{at_station.id}")
    if role == Role.POLICE:
        assert client.get("/feedback/queue").status_code == 403
        assert detail.status_code == 404
        return
    scope = "province" if role == Role.HEALTH_AUTHORITY else "mine"
    queue = client.get(f"/feedback/queue?scope={scope}").get_data(as_text=True)
    assert (at_station.code in queue) == sees
    assert detail.status_code == (200 if sees else 404)


def test_site_staff_see_their_site_only(client, login_as, file_feedback, make_site, make_user):
    site = make_site(OWN, SiteLevel.COMMUNE)
    other = make_site(OWN, SiteLevel.COMMUNE)
    staff = make_user(Role.VACCINATION_SITE, OWN, site=site)
    feedback = file_feedback(
        province_code=HANOI, site_code=site.code, dose_number=1, vaccinated_on=date(2021, 8, 1)
    )
    login_as(Role.VACCINATION_SITE, OWN, site=other)
    assert client.get(f"/feedback/queue/{feedback.id}").status_code == 404
    client.post("/logout", data={"csrf_token": csrf_token(client, "/feedback/queue")})
    login(client, staff.username)
    assert feedback.code in client.get("/feedback/queue").get_data(as_text=True)


def test_the_pool_is_triaged_by_health_authorities(client, login_as, file_feedback, area):
    feedback = file_feedback()
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    assert feedback.code in client.get("/feedback/queue?scope=pool").get_data(as_text=True)
    page = client.get(f"/feedback/queue/{feedback.id}").get_data(as_text=True)
    assert "Giao hoặc chuyển xử lý" in page
    # Every time a person reads says its zone (issue 13, item 17, seen on this page).
    assert "Hạn trả lời (giờ Việt Nam)" in page and "Thời gian (giờ Việt Nam)" in page
    token = csrf_token(client, f"/feedback/queue/{feedback.id}")
    response = client.post(
        f"/feedback/queue/{feedback.id}/reassign",
        data={
            "unit": f"health_station:{area(OWN).id}:",
            "reason": "Thuộc phường Ba Đình",
            "csrf_token": token,
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert (feedback.unit_kind, feedback.unit_area_id) == (UnitKind.HEALTH_STATION, area(OWN).id)
    assert feedback.province_id == area(HANOI).id
    # A unit of another province cannot be chosen.
    refused = client.post(
        f"/feedback/queue/{feedback.id}/reassign",
        data={
            "unit": f"health_station:{area(OTHER_PROVINCE).id}:",
            "reason": "x",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422


def test_a_health_station_cannot_reassign(client, login_as, at_station, area):
    login_as(Role.HEALTH_STATION, OWN)
    token = csrf_token(client, f"/feedback/queue/{at_station.id}")
    response = client.post(
        f"/feedback/queue/{at_station.id}/reassign",
        data={"unit": f"province:{area(HANOI).id}:", "reason": "x", "csrf_token": token},
    )
    assert response.status_code == 403


def test_person_search_as_a_page_and_a_fragment_is_scoped(
    client, login_as, at_station, make_person
):
    mine = make_person(full_name="Trần Thị Bình", id_number="001190012345")
    make_person(full_name="Trần Thị Bình", commune_code=NEIGHBOUR)
    login_as(Role.HEALTH_STATION, OWN)
    page = client.get(f"/feedback/queue/{at_station.id}?q=tran thi binh")
    assert "<html" in page.get_data(as_text=True)
    fragment = client.get(
        f"/feedback/queue/{at_station.id}?q=tran thi binh",
        headers={"HX-Request": "true", "HX-Target": "person-search"},
    )
    text = fragment.get_data(as_text=True)
    assert "<html" not in text
    assert f'data-testid="link-{mine.id}"' in text and text.count('data-testid="link-') == 1


def test_a_handled_complaint_leaves_its_whole_trail(client, login_as, at_station, make_person, app):
    person = make_person(full_name="Trần Thị Bình", id_number="001190012345")
    outsider = make_person(full_name="Người khác", commune_code=NEIGHBOUR)
    user = login_as(Role.HEALTH_STATION, OWN)
    url = f"/feedback/queue/{at_station.id}"
    token = csrf_token(client, url)
    # The ID number finds the record at once; a record outside the area is not found.
    assert f'data-testid="link-{person.id}"' in client.get(url).get_data(as_text=True)
    assert (
        client.post(f"{url}/link", data={"person_id": outsider.id, "csrf_token": token}).status_code
        == 404
    )
    assert (
        client.post(f"{url}/link", data={"person_id": person.id, "csrf_token": token}).status_code
        == 303
    )
    empty = client.post(f"{url}/answer", data={"answer": "", "csrf_token": token})
    assert empty.status_code == 422 and "Hãy viết nội dung trả lời" in empty.get_data(as_text=True)
    assert (
        client.post(
            f"{url}/answer", data={"answer": "Đã bổ sung mũi 2 vào hồ sơ.", "csrf_token": token}
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"{url}/close", data={"outcome": "resolved", "reason": "Đã sửa", "csrf_token": token}
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"{url}/close", data={"outcome": "rejected", "reason": "x", "csrf_token": token}
        ).status_code
        == 409
    )
    db.session.expire_all()
    assert at_station.status == FeedbackStatus.RESOLVED
    assert at_station.person_id == person.id
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "feedback", AuditEvent.entity_id == at_station.code)
        .order_by(AuditEvent.seq)
    ).all()
    assert [e.action for e in events] == [
        "feedback.create",
        "feedback.route",
        "feedback.link",
        "feedback.answer",
        "feedback.resolved",
    ]
    assert all(e.actor_id == user.id for e in events[2:])
    assert events[3].changes["answer"] == [None, "Đã bổ sung mũi 2 vào hồ sơ."]
    assert events[4].reason == "Đã sửa"
    # The answer is in the outbox and shows on the citizen's status page.
    (note,) = db.session.scalars(sa.select(Notification)).all()
    assert note.recipient == "0912345678" and at_station.code in note.body
    assert deliver_pending() == 1
    citizen = app.test_client()
    citizen_token = csrf_token(citizen, f"/feedback/{at_station.code}")
    citizen.post(
        f"/feedback/{at_station.code}",
        data={"birth_date": "17/05/1990", "csrf_token": citizen_token},
    )
    status = citizen.get(f"/feedback/{at_station.code}").get_data(as_text=True)
    assert "Đã bổ sung mũi 2 vào hồ sơ." in status and "Đã giải quyết" in status
    history = client.get(url).get_data(as_text=True)
    assert "Đã sửa" in history


def test_rejecting_answers_the_citizen_with_the_reason(client, login_as, at_station):
    login_as(Role.HEALTH_STATION, OWN)
    url = f"/feedback/queue/{at_station.id}"
    token = csrf_token(client, url)
    client.post(
        f"{url}/close",
        data={"outcome": "rejected", "reason": "Không có hồ sơ.", "csrf_token": token},
    )
    db.session.expire_all()
    assert at_station.status == FeedbackStatus.REJECTED
    assert at_station.answer == "Không có hồ sơ." and at_station.answered_at is not None


def test_queue_as_a_page_a_fragment_and_an_export(client, login_as, at_station):
    login_as(Role.HEALTH_STATION, OWN)
    fragment = client.get(
        "/feedback/queue?state=all", headers={"HX-Request": "true", "HX-Target": "queue-results"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and at_station.code in fragment
    csv = client.get("/feedback/queue/export.csv").get_data(as_text=True)
    assert at_station.code in csv and "Thời gian còn lại" in csv
    xlsx = client.get("/feedback/queue/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_queue_pages_by_time_left(client, login_as, file_feedback, app, monkeypatch):
    monkeypatch.setitem(app.config, "FEEDBACK_QUEUE_PAGE_SIZE", 2)
    codes = [file_feedback(description=f"Phản ánh số {n} về mũi tiêm.").code for n in range(3)]
    login_as(Role.ADMIN, HANOI)
    first = client.get("/feedback/queue").get_data(as_text=True)
    assert codes[0] in first and codes[1] in first and codes[2] not in first
    import re

    next_url = re.search(r'href="([^"]+)" rel="next"|rel="next" href="([^"]+)"', first)
    assert next_url
    url = (next_url.group(1) or next_url.group(2)).replace("&amp;", "&")
    second = client.get(url).get_data(as_text=True)
    assert codes[2] in second and codes[0] not in second
    assert client.get("/feedback/queue?after=garbage").status_code == 400


def statements_during(action) -> int:
    seen: list[str] = []

    def listener(*args) -> None:
        seen.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", listener)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


def test_the_queue_reads_its_units_names_at_once(
    client, login_as, file_feedback, make_site, area, make_user
):
    """The statements of a queue page do not grow with the units on it: no look-up per row."""
    from portal.feedback import routing

    login_as(Role.HEALTH_AUTHORITY, HANOI)
    file_feedback(province_code=HANOI)
    one_unit = statements_during(lambda: client.get("/feedback/queue?scope=province"))
    routing.set_rule(
        routing.Precision.COMMUNE,
        area(HANOI),
        UnitKind.HEALTH_STATION,
        "Ủy quyền",
        make_user(Role.HEALTH_AUTHORITY, HANOI),
    )
    make_user(Role.HEALTH_STATION, NEIGHBOUR)
    for n, commune in enumerate((OWN, NEIGHBOUR)):
        file_feedback(
            province_code=HANOI, commune_code=commune, description=f"Phản ánh số {n} về mũi tiêm."
        )
        site = make_site(commune, name=f"Điểm tiêm {commune}")
        make_user(Role.VACCINATION_SITE, commune, site=site)
        file_feedback(
            province_code=HANOI,
            site_code=site.code,
            dose_number=1,
            vaccinated_on=date(2021, 8, 1),
            description=f"Phản ánh {n} tại điểm.",
        )
    page: list[str] = []
    five_units = statements_during(
        lambda: page.append(client.get("/feedback/queue?scope=province").get_data(as_text=True))
    )
    assert five_units == one_unit
    for name in (
        "Sở Y tế Thành phố Hà Nội",
        "Trạm Y tế Phường Ba Đình",
        "Trạm Y tế Phường Ngọc Hà",
        f"Điểm tiêm {OWN}",
        f"Điểm tiêm {NEIGHBOUR}",
    ):
        assert f'<td class="small">{name}</td>' in page[0]


def test_routing_rules_page(client, login_as, area):
    login_as(Role.HEALTH_STATION, OWN)
    assert client.get("/feedback/rules").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/records")})
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    page = client.get("/feedback/rules").get_data(as_text=True)
    assert "toàn quốc" in page
    token = csrf_token(client, "/feedback/rules")
    assert (
        client.post(
            "/feedback/rules",
            data={
                "precision": "commune",
                "target": "health_station",
                "reason": "",
                "csrf_token": token,
            },
        ).status_code
        == 422
    )
    assert (
        client.post(
            "/feedback/rules",
            data={
                "precision": "commune",
                "target": "health_station",
                "reason": "Ủy quyền cho trạm",
                "csrf_token": token,
            },
        ).status_code
        == 303
    )
    assert "Thành phố Hà Nội" in client.get("/feedback/rules").get_data(as_text=True)


def test_a_second_answer_is_kept_beside_the_first_with_its_own_time(
    client, login_as, at_station, app
):
    """Issue 13 (smaller ones): a second answer used to replace the first and take its
    time. Both are kept, each with its own time, shown in order to staff, citizen and API;
    the 48-hour clock stopped at the first."""
    url = f"/feedback/queue/{at_station.id}"
    first_at = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    with time_machine.travel(first_at, tick=False):
        login_as(Role.HEALTH_STATION, OWN)  # a login session lasts 8 hours
        token = csrf_token(client, url)
        client.post(f"{url}/answer", data={"answer": "Đang kiểm tra hồ sơ.", "csrf_token": token})
    with time_machine.travel(first_at + timedelta(hours=5), tick=False):
        client.post(f"{url}/answer", data={"answer": "Đã bổ sung mũi 2.", "csrf_token": token})
        staff = client.get(url).get_data(as_text=True)
    db.session.expire_all()
    assert [(a.text, a.answered_at) for a in at_station.answers] == [
        ("Đang kiểm tra hồ sơ.", first_at.replace(tzinfo=None)),
        ("Đã bổ sung mũi 2.", (first_at + timedelta(hours=5)).replace(tzinfo=None)),
    ]
    assert at_station.answered_at == first_at.replace(tzinfo=None)  # the clock stopped
    assert staff.index("Đang kiểm tra hồ sơ.") < staff.index("Đã bổ sung mũi 2.")
    assert "02/03/2026 10:00:00" in staff and "02/03/2026 15:00:00" in staff
    citizen = app.test_client()
    citizen_token = csrf_token(citizen, f"/feedback/{at_station.code}")
    citizen.post(
        f"/feedback/{at_station.code}", data={"phone": "0912345678", "csrf_token": citizen_token}
    )
    status = citizen.get(f"/feedback/{at_station.code}").get_data(as_text=True)
    assert status.count('data-testid="answer-item"') == 2
    assert (
        status.index("02/03/2026 10:00")
        < status.index("Đang kiểm tra hồ sơ.")
        < status.index("02/03/2026 15:00")
        < status.index("Đã bổ sung mũi 2.")
    )
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "feedback.answer").order_by(AuditEvent.seq)
    ).all()
    assert [e.changes["answer"] for e in events] == [
        [None, "Đang kiểm tra hồ sơ."],
        [None, "Đã bổ sung mũi 2."],
    ]
    from portal.api.services import status_json

    assert [a["text"] for a in status_json(at_station)["answers"]] == [
        "Đang kiểm tra hồ sơ.",
        "Đã bổ sung mũi 2.",
    ]
