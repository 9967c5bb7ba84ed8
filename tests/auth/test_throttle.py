"""Issue 14, item 6: nobody can lock anyone out. The login throttle counts failures per
(account, address) with growing waits, and per address alone only loosely."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine
from flask_babel import force_locale, ngettext

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from tests.conftest import PASSWORD, login

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
ATTACKER = "198.51.100.66"
OWNER = "203.0.113.10"


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wait_message(minutes: int) -> str:
    with force_locale("vi"):
        return ngettext(
            "Too many failed attempts. Please wait %(num)s minute and try again.",
            "Too many failed attempts. Please wait %(num)s minutes and try again.",
            minutes,
        )


def refused_for(response, minutes: int) -> bool:
    return response.status_code == 429 and wait_message(minutes) in html.unescape(
        response.get_data(as_text=True)
    )


def count(action: str, username: str) -> int:
    db.session.expire_all()
    return db.session.scalar(
        sa.select(sa.func.count()).where(
            AuditEvent.action == action, AuditEvent.entity_id == username
        )
    )


def test_an_attackers_failures_do_not_keep_the_owner_out(app, make_user):
    """Issue 14, item 6: twenty failures on admin from address A (waiting out every
    delay) leave admin logging in from address B at once, while A+admin must wait."""
    admin = make_user(Role.ADMIN, "01")
    attacker = from_address(app, ATTACKER)
    moment = T0
    for failure in range(1, 21):  # as fast as the throttle lets the attacker try
        with at(moment):
            assert login(attacker, admin.username, "doan-mo-123").status_code == 401
            # After each failure the owner, from another address, logs in at once.
            assert login(from_address(app, OWNER), admin.username).status_code == 303
        last_failure = moment
        wait = min(2 ** (failure - 5), 60) if failure >= 5 else 0
        moment += timedelta(minutes=wait, seconds=1)
    assert count("auth.login_failed", admin.username) == 20
    with at(last_failure + timedelta(minutes=1)):
        assert refused_for(login(attacker, admin.username), 59)  # even the right password
        owner = from_address(app, OWNER)
        assert login(owner, admin.username).status_code == 303
        assert owner.get("/dashboard").status_code == 200


def test_the_pair_waits_growing_delays_and_a_success_clears_it(app, make_user):
    """Issue 14, item 6: after five failures of (account, address): 1 minute, then
    2, 4, ... doubling up to 60; each attempt refused during a wait is audited and does
    not lengthen it; a success from that address starts the count again."""
    user = make_user()
    client = from_address(app, ATTACKER)
    with at(T0):
        for _ in range(5):
            assert login(client, user.username, "sai").status_code == 401
        assert refused_for(login(client, user.username), 1)
    moment = T0
    for delay in (1, 2, 4, 8, 16, 32, 60, 60):
        with at(moment + timedelta(minutes=delay) - timedelta(seconds=1)):
            assert refused_for(login(client, user.username), 1)
        with at(moment + timedelta(minutes=delay)):
            assert login(client, user.username, "sai").status_code == 401
            moment += timedelta(minutes=delay)
            next_delay = min(delay * 2, 60)
            assert refused_for(login(client, user.username), next_delay)
    assert count("auth.login_throttled", user.username) == 1 + 8 + 8
    with at(moment + timedelta(minutes=60)):
        assert login(client, user.username).status_code == 303
    fresh = from_address(app, ATTACKER)
    with at(moment + timedelta(minutes=61)):
        for _ in range(4):
            assert login(fresh, user.username, "sai").status_code == 401
        assert login(fresh, user.username).status_code == 303


def test_one_address_failing_for_many_accounts_does_not_lock_its_users_out(app, make_user):
    """Issue 14, item 6: 30 failures from one address (a commune office behind a NAT) for
    30 different accounts do not stop a 31st user with the right password there; only
    LOGIN_MAX_FAILURES_PER_ADDRESS (100) failures within LOGIN_ADDRESS_WINDOW_MINUTES (15)
    make that address wait, until enough of them are older than the window; other
    addresses are never affected."""
    office = from_address(app, ATTACKER)
    users = [make_user() for _ in range(31)]
    with at(T0):
        for user in users[:30]:
            assert login(office, user.username, "sai").status_code == 401
        assert login(office, users[30].username).status_code == 303
    assert app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] == 100
    assert app.config["LOGIN_ADDRESS_WINDOW_MINUTES"] == 15
    office = from_address(app, ATTACKER)
    with at(T0 + timedelta(minutes=5)):
        for number in range(70):
            assert login(office, f"khong.co.{number}", "sai").status_code == 401
        assert refused_for(login(office, users[0].username, PASSWORD), 10)
        assert login(from_address(app, OWNER), users[0].username).status_code == 303
    with at(T0 + timedelta(minutes=15, seconds=1)):
        assert login(office, users[0].username).status_code == 303
