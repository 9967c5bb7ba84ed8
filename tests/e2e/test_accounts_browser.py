"""End to end in headless Chromium, the administrator's journey: an account is created (a
refusal first, everything typed kept), the new officer logs in, the administrator
deactivates them; the officer's open page, on its next htmx request, lands on the login page
as a whole page (issue 13, item 10), and the trail shows it all. axe-core checks every page.

On the session's demo portal (tests/e2e/conftest.py). Without Chromium the test is skipped,
unless REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.axe import check_accessibility, log_in_as
from tests.e2e.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.committing]

OFFICER_PASSWORD = "mat-khau-can-bo-moi"


def test_administrator_creates_then_deactivates_an_account(demo_server, page, browser):
    """Issue 13, item 10 (in the browser): after the deactivation, the officer's active
    search takes the whole page to the login page, never a fragment of it."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    log_in_as(page, demo_server, "admin")
    check_accessibility(page)
    page.get_by_role("link", name="Tài khoản").click()
    check_accessibility(page)
    page.get_by_role("link", name="Tài khoản mới").click()
    check_accessibility(page)

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
    check_accessibility(page, "the account form with its errors")

    page.fill("#username", "congan.moi")
    page.fill("#password", OFFICER_PASSWORD)
    page.fill("#confirm", OFFICER_PASSWORD)
    page.get_by_role("button", name="Tạo tài khoản").click()
    expect(page).to_have_url(re.compile(r"/admin/accounts/\d+$"))
    expect(page.get_by_role("alert").or_(page.locator(".alert"))).to_contain_text(
        "Đã tạo tài khoản congan.moi"
    )
    check_accessibility(page)

    # The officer logs in in another browser context and starts searching the records.
    officer = browser.new_context(viewport={"width": 1366, "height": 768})
    officer_page = officer.new_page()
    log_in(officer_page, demo_server, "congan.moi", OFFICER_PASSWORD)
    expect(officer_page.get_by_role("link", name="Xác minh danh tính")).to_be_visible()
    expect(officer_page).to_have_url(re.compile(r"/records$"))
    officer_page.locator("#q").fill("nguyen")
    expect(officer_page).to_have_url(re.compile(r"/records\?(.*&)?q=nguyen"))

    # Deactivated: the officer's open page, on its next htmx request (the active search),
    # is taken to the login page as a whole page, coming back to the list afterwards.
    page.locator("#active").uncheck()
    page.get_by_role("button", name="Lưu thay đổi").click()
    expect(page.get_by_test_id("deactivated")).to_be_visible()
    officer_page.evaluate("window.__samePage = true")
    officer_page.locator("#q").fill("nguyen van")
    expect(officer_page).to_have_url(re.compile(r"/login\?next="))
    next_url = parse_qs(urlsplit(officer_page.url).query)["next"][0]
    assert re.fullmatch(r"/records\?(.*&)?q=nguyen(&.*)?", next_url), next_url
    assert officer_page.evaluate("window.__samePage === undefined"), "not a page load"
    expect(officer_page.locator("form[action$='/login']")).to_have_count(1)
    expect(officer_page.get_by_role("heading", level=1)).to_have_count(1)
    expect(officer_page.locator("#results")).to_have_count(0)
    expect(officer_page.locator("nav.navbar")).to_have_count(1)
    expect(officer_page.get_by_role("alert")).to_be_visible()
    expect(officer_page.locator("#main input[name=next]")).to_have_value(next_url)
    check_accessibility(officer_page, "the login page after the deactivation")
    officer_page.screenshot(path=str(SCREENSHOTS / "e2e-deactivated-officer.png"))
    officer.close()

    # The list finds them without accents among the deactivated; the trail shows it all.
    page.get_by_role("navigation").get_by_role("link", name="Tài khoản", exact=True).click()
    page.select_option("#accounts-state", "inactive")
    page.fill("#accounts-q", "le thi hang")
    expect(page.get_by_test_id("account-row")).to_have_count(1)
    check_accessibility(page, "the deactivated accounts found")
    page.get_by_role("navigation").get_by_role("link", name="Nhật ký").click()
    page.fill("#trail-action", "user")
    page.get_by_role("button", name="Tìm").click()
    rows = page.get_by_test_id("trail-row")
    expect(rows.filter(has_text="user.create")).to_have_count(1)
    expect(rows.filter(has_text="Đang hoạt động: có → không")).to_have_count(1)
    check_accessibility(page)
    page.screenshot(path=str(SCREENSHOTS / "e2e-accounts-trail.png"), full_page=True)
    assert not errors, errors
