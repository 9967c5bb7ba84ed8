"""End to end in headless Chromium: the dashboard's refresh keeps the user's work.

On the session's demo portal (tests/e2e/conftest.py), in a province of its own (Quảng Ninh);
the page's clock is the test's, so the refresh (every 30 seconds) comes when the test says.
Without Chromium the test is skipped, unless REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.areas import services as area_services
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.core.clock import today_in_vietnam
from portal.dashboard.models import DailyTally
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import BirthPrecision, Sex
from tests.e2e.browser import SCREENSHOTS, add_to_demo, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

AUTHORITY = "soyte.quangninh"
PASSWORD = "mat-khau-e2e-so-y-te"
PROVINCE = "22"  # Quảng Ninh
OWN = "06652"  # Phường Hà Tu
SERVER: dict = {}


def _person(name: str, commune) -> None:
    from datetime import date

    record_services.create_person(
        {
            "full_name": name,
            "sex": Sex.FEMALE,
            "birth_date": date(1990, 5, 17),
            "birth_precision": BirthPrecision.DAY,
            "id_number": None,
            "commune_id": commune.id,
        },
        reason="e2e fixture",
    )


def _seed() -> None:
    own = area_services.area_by_code(OWN)
    create_user(
        AUTHORITY,
        PASSWORD,
        Role.HEALTH_AUTHORITY,
        area_services.area_by_code(PROVINCE),
        "Sở Y tế Quảng Ninh",
    )
    for i in range(3):
        _person(f"Nguyễn Thị Hoa {i}", own)
    # Two days of snapshots: the progress chart, and its "As a table".
    today = today_in_vietnam()
    for days in (2, 1):
        db.session.add(
            DailyTally(
                day=today - timedelta(days=days), commune_id=own.id, status="unverified", n=3
            )
        )
    db.session.commit()


@pytest.fixture(scope="module")
def live_server(demo_portal):
    SERVER["app"], url = add_to_demo(demo_portal, _seed)
    return url


def test_the_refresh_keeps_the_filter_typed_and_the_tables_opened(live_server, page):
    """Issue 13, item 11: the refresh wiped the text typed in the commune filter and closed
    the "Xem dạng bảng" tables. It now swaps the figures only: typed text, opened tables
    and focus stay, and the figures are new."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.clock.install()  # the refresh comes when the test runs the clock on
    log_in(page, live_server, AUTHORITY, PASSWORD)
    page.goto(live_server + "/dashboard")
    expect(page.get_by_test_id("total")).to_have_text("3")

    # Work in progress: a table opened, and a filter being typed (not yet sent).
    details = page.locator("#figures details").first
    details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    page.locator("#dash-q").fill("Hà T")
    # A mark on the figures, gone once they are swapped; and a new person behind the
    # page's back, whom the refreshed figures count.
    page.evaluate("document.getElementById('figures-cards').dataset.old = '1'")
    with SERVER["app"].app_context():
        _person("Trần Văn Mới", area_services.area_by_code(OWN))
        db.session.commit()
    with page.expect_response(
        lambda r: "/dashboard" in r.url and r.request.headers.get("hx-target") == "figures-refresh"
    ):
        page.clock.run_for(31_000)
    expect(page.locator("#figures-cards:not([data-old])")).to_have_count(1)
    expect(page.get_by_test_id("total")).to_have_text("4")

    assert page.locator("#dash-q").input_value() == "Hà T"
    expect(page.locator("#dash-q")).to_be_focused()
    expect(details).to_have_attribute("open", "")
    expect(details.locator("table tbody tr")).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "e2e-dashboard-refresh.png"), full_page=True)
    assert not errors, errors
