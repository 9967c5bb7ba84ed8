"""The 48-hour clock with frozen time: at risk, overdue, escalation exactly once, figures."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine

from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.extensions import db
from portal.feedback import clock, services
from portal.feedback.clock import ClockState
from portal.feedback.jobs import escalate_overdue_feedback
from portal.feedback.models import Escalation, Precision, UnitKind
from portal.feedback.routing import Unit
from tests.conftest import HANOI, OWN

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _at(hours: float):
    return time_machine.travel(T0 + timedelta(hours=hours), tick=False)


def test_due_is_received_plus_48_hours_and_the_states_follow(file_feedback):
    with _at(0):
        feedback = file_feedback()
    assert feedback.due_at - feedback.received_at == timedelta(hours=48)
    with _at(35.9):
        assert clock.state(feedback) == ClockState.ON_TIME
    with _at(36):
        assert clock.state(feedback) == ClockState.AT_RISK
        assert clock.time_left_text(clock.time_left(feedback)) == "còn 12 giờ"
    with _at(47.99):
        assert clock.state(feedback) == ClockState.AT_RISK
    with _at(48):
        assert clock.state(feedback) == ClockState.OVERDUE
    with _at(50.5):
        assert clock.time_left_text(clock.time_left(feedback)) == "quá hạn 2 giờ 30 phút"


def test_the_queue_shows_time_left_and_marks(client, login_as, file_feedback, area):
    with _at(0):
        late = file_feedback(province_code=HANOI, description="Phản ánh cũ về mũi tiêm số hai.")
    with _at(40):
        soon = file_feedback(province_code=HANOI, description="Phản ánh mới về mũi tiêm.")
    with _at(49):
        login_as(Role.HEALTH_AUTHORITY, HANOI)
        page = client.get("/feedback/queue").get_data(as_text=True)
        assert page.index(late.code) < page.index(soon.code)  # by time left
        assert "Quá hạn" in page and "Sắp hết hạn" in page
        assert "quá hạn 1 giờ" in page and "còn 39 giờ" in page
        overdue = client.get("/feedback/queue?state=overdue").get_data(as_text=True)
        assert late.code in overdue and soon.code not in overdue
        at_risk = client.get("/feedback/queue?state=at_risk").get_data(as_text=True)
        assert soon.code not in at_risk  # 39 h left
    with _at(80):
        login_as(Role.HEALTH_AUTHORITY, HANOI)  # the login session lasts 8 hours
        at_risk = client.get("/feedback/queue?state=at_risk").get_data(as_text=True)
        assert soon.code in at_risk and late.code not in at_risk


def test_escalation_happens_once_and_is_recorded(
    file_feedback, file_at_site, staffed_site, area, make_user
):
    authority = make_user(Role.HEALTH_AUTHORITY, HANOI)
    make_user(Role.HEALTH_STATION, OWN)  # escalation skips units nobody can log in to
    with _at(0):
        at_site = file_at_site(staffed_site)
        station = file_feedback(
            province_code=HANOI, commune_code=OWN, description="Phản ánh về trạm y tế phường."
        )
        services.reassign(
            station, Unit(UnitKind.HEALTH_STATION, area(OWN).id), "Giao trạm", authority
        )
        answered = file_at_site(
            staffed_site, 2, date(2021, 9, 1), description="Phản ánh đã được trả lời kịp."
        )
        db.session.commit()
    assert at_site.precision == Precision.SITE
    with _at(10):
        services.answer(answered, "Đã bổ sung mũi 2.", authority)
        db.session.commit()
    with _at(47):
        assert services.escalate_overdue() == 0
    with _at(49):
        assert escalate_overdue_feedback.call_local() == 2  # the periodic task itself
    with _at(60):
        assert services.escalate_overdue() == 0  # exactly once
    db.session.expire_all()
    targets = {
        (e.feedback_id, e.unit_kind, e.unit_area_id)
        for e in db.session.scalars(sa.select(Escalation))
    }
    assert targets == {
        (at_site.id, UnitKind.PROVINCE, area(HANOI).id),
        (at_site.id, UnitKind.HEALTH_STATION, area(OWN).id),
        (station.id, UnitKind.PROVINCE, area(HANOI).id),
    }
    assert {e.note for e in db.session.scalars(sa.select(Escalation))} == {""}
    assert at_site.escalated_at == (T0 + timedelta(hours=49)).replace(tzinfo=None)
    assert answered.escalated_at is None
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "feedback.escalate")
    ).all()
    assert len(events) == 1 and events[0].changes["escalated"] == [None, 2]


def test_an_escalated_complaint_shows_in_the_parent_queue(
    client, login_as, file_at_site, staffed_site
):
    with _at(0):
        feedback = file_at_site(staffed_site)
    with _at(49):
        login_as(Role.HEALTH_STATION, OWN)
        assert feedback.code not in client.get("/feedback/queue").get_data(as_text=True)
        services.escalate_overdue()
        db.session.commit()
        page = client.get("/feedback/queue").get_data(as_text=True)
        assert feedback.code in page and "Đã chuyển cấp trên" in page


def test_times_left_are_in_vietnamese_words_everywhere(client, login_as, file_feedback):
    """Issue 13 (smaller ones): "47 h 52 min" / "-3 h 01 min" become "còn 47 giờ 52 phút" /
    "quá hạn 3 giờ 1 phút" on the queue, the complaint's page and the exports."""
    with _at(0):
        late = file_feedback(province_code=HANOI, description="Phản ánh cũ về mũi tiêm số hai.")
    with _at(0.5):
        fresh = file_feedback(province_code=HANOI, description="Phản ánh mới về mũi tiêm.")
    with _at(48 + 3 + 1 / 60 + 1 / 3600):
        assert clock.time_left_text(clock.time_left(late)) == "quá hạn 3 giờ 1 phút"
        assert clock.time_left_text(clock.time_left(fresh)) == "quá hạn 2 giờ 31 phút"
    with _at(0.5 + 1 / 60 + 8 / 60):
        assert clock.time_left_text(clock.time_left(fresh)) == "còn 47 giờ 51 phút"
        assert clock.time_left_text(timedelta(minutes=5)) == "còn 5 phút"
        login_as(Role.HEALTH_AUTHORITY, HANOI)
        queue = client.get("/feedback/queue").get_data(as_text=True)
        detail = client.get(f"/feedback/queue/{fresh.id}").get_data(as_text=True)
        csv = client.get("/feedback/queue/export.csv").get_data(as_text=True)
        for text in (queue, detail, csv):
            assert "còn 47 giờ 51 phút" in text
            assert re.search(r"\d+ h \d+ min", text) is None


def test_escalation_passes_over_units_nobody_can_log_in_to(
    client, login_as, file_at_site, staffed_site, make_user, area
):
    """Issue 13, item 8 (wave 2): an overdue complaint of a commune-level site went to its
    commune's health station even when nobody can log in there. Escalation now skips a unit
    without an active account for the next one above with one (the routing's
    ``staffed``), and records it: the escalation's note, the audit event, the detail page."""
    # Nobody can log in at the commune's health station (its accounts deactivated).
    db.session.execute(
        sa.update(User)
        .where(User.role == Role.HEALTH_STATION, User.area_id == area(OWN).id)
        .values(active=False)
    )
    db.session.commit()
    make_user(Role.HEALTH_AUTHORITY, HANOI)
    with _at(0):
        feedback = file_at_site(staffed_site)
    assert feedback.unit_kind == UnitKind.SITE
    with _at(49):
        assert services.escalate_overdue() == 1
        db.session.commit()
    station_key = f"health_station:{area(OWN).id}:"
    rows = {
        (e.unit_kind, e.unit_area_id): e.note for e in db.session.scalars(sa.select(Escalation))
    }
    assert rows == {(UnitKind.PROVINCE, area(HANOI).id): f"no_account|{station_key}"}
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "feedback.escalate")
    ).one()
    assert event.changes["no_account"][1] == [
        {"feedback_id": feedback.id, "to": f"province:{area(HANOI).id}:", "passed": [station_key]}
    ]
    with _at(50):
        login_as(Role.HEALTH_AUTHORITY, HANOI)
        assert feedback.code in client.get("/feedback/queue").get_data(as_text=True)
        detail = client.get(f"/feedback/queue/{feedback.id}").get_data(as_text=True)
        assert "Trạm Y tế Phường Ba Đình" in detail.split('data-testid="escalation"')[1]
    # Without anyone at the province either, it goes to the common pool (administrators).
    db.session.execute(
        sa.update(User)
        .where(User.role == Role.HEALTH_AUTHORITY, User.area_id == area(HANOI).id)
        .values(active=False)
    )
    with _at(0):
        second = file_at_site(
            staffed_site, 2, date(2021, 9, 1), description="Phản ánh thứ hai về mũi tiêm số hai."
        )
    with _at(49):
        services.escalate_overdue()
    notes = {
        (e.unit_kind, e.unit_area_id): e.note
        for e in db.session.scalars(
            sa.select(Escalation).where(Escalation.feedback_id == second.id)
        )
    }
    assert notes == {(UnitKind.POOL, None): f"no_account|{station_key}|province:{area(HANOI).id}:"}


def test_escalation_targets_of_a_staffed_chain(make_site, make_user, area):
    """Issue 13, item 8 (wave 2): with every unit staffed, a commune-level site's complaint
    goes to its health station and its province, nothing passed over."""
    site = make_site(OWN, SiteLevel.COMMUNE)
    make_user(Role.HEALTH_STATION, OWN)
    make_user(Role.HEALTH_AUTHORITY, HANOI)
    targets = services.escalation_targets(Unit(UnitKind.SITE, site_id=site.id))
    assert [(t.kind, t.area_id, passed) for t, passed in targets] == [
        (UnitKind.HEALTH_STATION, area(OWN).id, []),
        (UnitKind.PROVINCE, area(HANOI).id, []),
    ]
