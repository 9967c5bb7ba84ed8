"""End to end in headless Chromium: an administrator creates an account (a refusal first,
everything typed kept), the new officer logs in, the administrator deactivates them and
reads it all in the audit trail.

Served like tests/e2e/test_browser.py. Without Chromium the test is skipped, unless
REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import re

import pytest

from portal.areas import services as area_services
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.extensions import db
from tests.e2e.test_browser import (  # noqa: F401  (fixtures)
    SCREENSHOTS,
    _rollback,
    browser,
    chromium_path,
    log_in,
    page,
    serve_portal,
)

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

ADMIN = "quantri.hanoi"
PASSWORD = "mat-khau-e2e-quan-tri"
OFFICER_PASSWORD = "mat-khau-can-bo-moi"


def _seed() -> None:
    create_user(ADMIN, PASSWORD, Role.ADMIN, area_services.area_by_code("01"),
                "Quản trị viên Sở Y tế")
    db.session.commit()


@pytest.fixture(scope="module")
def live_server(chromium_path, tmp_path_factory):  # noqa: F811  (imported fixture)
    with serve_portal(tmp_path_factory.mktemp("e2e-accounts"), _seed) as (_app, url):
        yield url


def test_administrator_creates_then_deactivates_an_account(live_server, page, browser):  # noqa: F811
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    log_in(page, live_server, ADMIN, PASSWORD)
    page.get_by_role("link", name="Tài khoản").click()
    page.get_by_role("link", name="Tài khoản mới").click()

    page.fill("#username", "Cong An Moi")
    page.fill("#display_name", "Thượng úy Lê Thị Hằng")
    page.select_option("#role", "police")
    page.select_option("#area", "00004")
    page.fill("#password", "ngan")
    page.fill("#confirm", "ngan")
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page.locator("#username-error")).to_contain_text("chữ thường không dấu")
    expect(page.locator("#password-error")).to_contain_text("ít nhất 10 ký tự")
    expect(page.locator("#display_name")).to_have_value("Thượng úy Lê Thị Hằng")
    expect(page.locator("#area")).to_have_value("00004")

    page.fill("#username", "congan.moi")
    page.fill("#password", OFFICER_PASSWORD)
    page.fill("#confirm", OFFICER_PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page).to_have_url(re.compile(r"/admin/accounts/\d+$"))
    expect(page.get_by_role("alert").or_(page.locator(".alert"))).to_contain_text(
        "Đã tạo tài khoản congan.moi")

    # The officer logs in in another browser context.
    officer = browser.new_context()
    officer_page = officer.new_page()
    log_in(officer_page, live_server, "congan.moi", OFFICER_PASSWORD)
    expect(officer_page.get_by_role("link", name="Xác minh danh tính")).to_be_visible()

    # Deactivated: the officer's next page asks them to log in.
    page.locator("#active").uncheck()
    page.get_by_role("button", name="Lưu thay đổi").click()
    expect(page.get_by_test_id("deactivated")).to_be_visible()
    officer_page.reload()
    expect(officer_page).to_have_url(re.compile(r"/login"))
    officer.close()

    # The list finds them without accents among the deactivated; the trail shows it all.
    page.get_by_role("navigation").get_by_role("link", name="Tài khoản", exact=True).click()
    page.select_option("#accounts-state", "inactive")
    page.fill("#accounts-q", "le thi hang")
    expect(page.get_by_test_id("account-row")).to_have_count(1)
    page.get_by_role("navigation").get_by_role("link", name="Nhật ký").click()
    page.fill("#trail-action", "user")
    page.get_by_role("button", name="Tìm").click()
    rows = page.get_by_test_id("trail-row")
    expect(rows.filter(has_text="user.create")).to_have_count(1)
    expect(rows.filter(has_text="active: true → false")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "e2e-accounts-trail.png"), full_page=True)
    assert not errors, errors
