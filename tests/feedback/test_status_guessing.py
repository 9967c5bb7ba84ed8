"""Issue 14, item 10: the complaint status page does not yield to a date-of-birth search
spread over many addresses. Wrong answers are counted per tracking code, from every
address; past FEEDBACK_STATUS_CODE_MAX_WRONG of them one detail waits (a growing wait, the
login throttle's rule), while the phone number and the date of birth given together — what
the citizen knows and the attacker does not — are let through at once."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
import time_machine
from flask_babel import force_locale, gettext

from portal.core.throttle import growing_wait
from portal.extensions import db
from portal.feedback import jobs, services
from portal.feedback.models import FailureCount, Feedback
from tests.conftest import csrf_token
from tests.feedback.conftest import post

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PHONE, BIRTH = "0912345678", "17/05/1990"


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def ask(app, code: str, address: str, **answer):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    token = csrf_token(browser, f"/feedback/{code}")
    return browser.post(f"/feedback/{code}", data={**answer, "csrf_token": token})


def both_needed(response) -> bool:
    return response.status_code == 429 and 'data-testid="both-needed"' in response.get_data(
        as_text=True
    )


def candidate_births(count: int):
    """Dates of birth an attacker tries, the right one last."""
    day = date(1990, 1, 1)
    for _ in range(count - 1):
        yield day.strftime("%d/%m/%Y")
        day += timedelta(days=1)
    yield BIRTH


def test_a_birth_date_search_from_many_addresses_is_stopped(app, client):
    """Issue 14, item 10: 63 tries from 3 addresses found the birth date before; now,
    after five wrong answers for the code, one detail waits whatever the address — even the
    right birth date is not checked — and nothing is revealed."""
    with at(T0):
        code = (post(client), db.session.scalars(sa.select(Feedback)).one().code)[1]
    statuses = []
    with at(T0 + timedelta(minutes=1)):
        for n, birth in enumerate(candidate_births(63)):
            response = ask(app, code, f"198.51.100.{n % 3}", birth_date=birth)
            statuses.append(response.status_code)
            assert 'data-testid="status"' not in response.get_data(as_text=True)
        page = ask(app, code, "198.51.100.7", birth_date=BIRTH)
    assert statuses[:5] == [422] * 5
    assert statuses[5:] == [429] * 58  # the right one, last, among them
    assert both_needed(page)
    with force_locale("vi"):
        assert gettext(
            "Too many wrong answers have been given for this tracking code. Give "
            "both the phone number and the date of birth written in the report, "
            "or try again with one of them in %(num)s minutes.",
            num=15,
        ) in html.unescape(page.get_data(as_text=True))
    # The phone and the birth date typed are kept in the form.
    assert BIRTH in page.get_data(as_text=True)


def test_the_citizen_with_phone_and_birth_date_still_gets_in(app, client):
    """Issue 14, item 10: during the attack the rightful citizen, who knows both details,
    reads the status at once, from any address; both must be right."""
    with at(T0):
        code = (post(client), db.session.scalars(sa.select(Feedback)).one().code)[1]
        for n in range(8):
            ask(app, code, f"198.51.100.{n % 3}", birth_date=f"0{n + 1}/01/1990")
        assert both_needed(ask(app, code, "203.0.113.5", phone=PHONE))
        wrong_phone = ask(app, code, "198.51.100.1", phone="0900000000", birth_date=BIRTH)
        assert wrong_phone.status_code == 422
        citizen = app.test_client()
        citizen.environ_base["REMOTE_ADDR"] = "203.0.113.5"
        token = csrf_token(citizen, f"/feedback/{code}")
        response = citizen.post(
            f"/feedback/{code}",
            data={"phone": "0912 345 678", "birth_date": BIRTH, "csrf_token": token},
        )
        assert response.status_code == 303
        assert 'data-testid="status"' in citizen.get(f"/feedback/{code}").get_data(as_text=True)


def test_the_wait_for_one_detail_grows_with_each_wrong_answer(app, client):
    """The login throttle's rule: 15 minutes after the last wrong answer, then 30, 60…"""
    with at(T0):
        code = (post(client), db.session.scalars(sa.select(Feedback)).one().code)[1]
        for n in range(5):
            assert ask(app, code, "198.51.100.1", birth_date=f"0{n + 1}/01/1990").status_code == 422
        assert both_needed(ask(app, code, "198.51.100.2", birth_date="09/01/1990"))
    moment = T0
    for wait in (15, 30, 60):
        with at(moment + timedelta(minutes=wait - 1)):
            assert both_needed(ask(app, code, "198.51.100.3", birth_date="10/01/1990"))
        moment += timedelta(minutes=wait)
        with at(moment):
            assert ask(app, code, "198.51.100.4", birth_date="11/01/1990").status_code == 422
    with at(moment + timedelta(minutes=120)):  # waited out: the right one gets in
        assert ask(app, code, "198.51.100.5", birth_date=BIRTH).status_code == 303


def test_an_unknown_code_answers_the_same_way(app):
    """A code that does not exist gets the same waits: the answer tells nothing."""
    with at(T0):
        for _ in range(5):
            assert ask(app, "PA2222222222", "198.51.100.1", phone="0900000000").status_code == 422
        assert both_needed(ask(app, "PA2222222222", "198.51.100.2", phone="0900000000"))


def test_one_rule_for_growing_waits():
    """The status page and the login throttle share core.throttle.growing_wait."""
    last = datetime(2026, 3, 2, 1, 0)
    rule = {"free": 5, "first_delay_minutes": 15, "max_delay_minutes": 60}
    assert growing_wait(4, last, last, **rule) == timedelta(0)
    assert growing_wait(5, last, last, **rule) == timedelta(minutes=15)
    assert growing_wait(6, last, last + timedelta(minutes=10), **rule) == timedelta(minutes=20)
    assert growing_wait(20, last, last, **rule) == timedelta(minutes=60)


def test_wrong_answers_are_forgotten_after_the_window(app, client):
    """After FEEDBACK_STATUS_CODE_WINDOW_DAYS without a wrong answer the count starts
    again from one (and the outbox job purges it)."""
    with at(T0):
        for _ in range(6):
            ask(app, "PA3333333333", "198.51.100.1", phone="0900000000")
    later = T0 + timedelta(days=31)
    with at(later):
        assert ask(app, "PA3333333333", "198.51.100.2", phone="0900000000").status_code == 422
        assert db.session.get(FailureCount, services.status_code_key("PA3333333333")).failures == 1
    with at(later + timedelta(days=31)):
        jobs.run_outbox()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FailureCount)) == 0
