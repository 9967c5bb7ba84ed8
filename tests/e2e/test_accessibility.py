"""axe-core (WCAG 2.1 A and AA) over the main pages of every role, on the demo portal.

Each page is opened as its user would (a whole page load, logged in as the demo account of
that role) and must have no violation at all: contrast, labels, names, structure.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.feedback.models import Feedback
from tests.e2e.axe import check_accessibility, log_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

FIRST_RECORD = "first-record"
FIRST_COMPLAINT = "first-complaint"
# The pages each role works on; FIRST_* opens the first item of the list just visited.
PAGES = {
    "police.ba_dinh": [
        "/records",
        FIRST_RECORD,
        "/worklists/review",
        "/worklists/handover",
        "/worklists/handover/new",
    ],
    "health.ba_dinh": [
        "/records",
        FIRST_RECORD,
        "/worklists/corrections",
        "/imports",
        "/worklists/handover",
        "/feedback/queue",
    ],
    "committee.ba_dinh": ["/signing", "/dashboard"],
    "site.ba_dinh": ["/signing", "/records", FIRST_RECORD, "/feedback/queue"],
    "authority.ha_noi": [
        "/dashboard",
        "/dashboard/targets",
        "/feedback/queue",
        FIRST_COMPLAINT,
        "/feedback/rules",
        "/audit",
    ],
    "admin": ["/admin/accounts", "/admin/accounts/new", "/audit", "/registry/extracts"],
}


def _open(page, base: str, target: str) -> None:
    if target == FIRST_RECORD:
        page.locator("#results tbody a[href*='/records/']").first.click()
        page.wait_for_url(re.compile(r"/records/\d+$"))
    elif target == FIRST_COMPLAINT:
        page.get_by_test_id("queue-row").first.get_by_role("link").first.click()
        page.wait_for_url(re.compile(r"/feedback/queue/\d+$"))
    else:
        response = page.goto(base + target)
        assert response is not None and response.status == 200, (target, response)


@pytest.mark.parametrize("username", list(PAGES))
def test_every_role_s_main_pages_pass_axe(demo_server, page, username):
    log_in_as(page, demo_server, username)
    for target in PAGES[username]:
        _open(page, demo_server, target)
        page.get_by_role("heading", level=1).first.wait_for()
        check_accessibility(page, f"{username} {target} ({page.url})")


def test_public_pages_pass_axe(demo_portal, demo_server, page):
    """Login, the complaint form, a complaint's status page (asking for the phone, then
    showing the status) and /verify, without logging in."""
    for path in ("/login", "/feedback/new", "/verify"):
        page.goto(demo_server + path)
        check_accessibility(page)
    # A demo complaint's status: its code comes from the staff side, read from the database.
    code, phone = _a_demo_complaint(demo_portal[0])
    page.goto(f"{demo_server}/feedback/{code}")
    check_accessibility(page, "status page asking for the phone")
    page.fill("input[name=phone]", phone)
    page.locator("form:has(input[name=phone]) button[type=submit]").click()
    page.get_by_test_id("status").wait_for()
    check_accessibility(page, "status page")


def _a_demo_complaint(app) -> tuple[str, str]:
    with app.app_context():
        feedback = db.session.scalars(sa.select(Feedback).order_by(Feedback.id)).first()
        assert feedback is not None
        return feedback.code, feedback.phone
