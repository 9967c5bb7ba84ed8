"""End to end in headless Chromium: what a person typed survives the end of their session
(static/js/session-end.js). The health station of Ngọc Hà is searching the records list
when the session ends (logged out from another tab of the same browser); the next keystroke's
htmx call lands on the login page, and after logging in again the list comes back with the
search and the status chosen put back, the search run again, and a notice saying so.

On the session's demo portal (tests/e2e/conftest.py). Without Chromium the test is skipped,
unless REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from portal.core.text import fold
from tests.e2e.axe import DEMO_PASSWORD, check_accessibility, log_in_as
from tests.e2e.browser import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.committing]


def test_what_was_typed_is_put_back_after_logging_in_again(demo_server, page):
    """Issue 13, item 10 (the session-end script's browser test): the draft kept when an
    htmx call finds the session ended is restored on the same page after the new login."""
    from playwright.sync_api import expect

    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    log_in_as(page, demo_server, "health.ngoc_ha")
    page.goto(demo_server + "/records")
    check_accessibility(page)
    page.locator("#q").press_sequentially("nguy", delay=30)
    expect(page).to_have_url(re.compile(r"/records\?(.*&)?q=nguy(&|$)"))
    page.select_option("#status", "mismatch")
    expect(page).to_have_url(re.compile(r"/records\?(.*&)?status=mismatch"))
    expect(page.get_by_test_id("result-count")).to_be_visible()
    list_url = page.url

    # The same person logs out in another tab of the same browser: the session has ended.
    other = page.context.new_page()
    other.goto(demo_server + "/records")
    with other.expect_navigation():
        other.get_by_role("button", name="Đăng xuất").click()
    expect(other.locator("form[action$='/login']")).to_have_count(1)
    other.close()

    # The next keystroke's active search finds the session ended: the whole page goes to
    # the login page, coming back to the list afterwards.
    page.evaluate("window.__samePage = true")
    page.locator("#q").press("e")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    assert page.evaluate("window.__samePage === undefined"), "not a page load"
    next_url = parse_qs(urlsplit(page.url).query)["next"][0]
    assert list_url.endswith(next_url), (list_url, next_url)
    expect(page.locator("#results")).to_have_count(0)
    check_accessibility(page, "the login page after the session ended")

    page.fill("input[name=username]", "health.ngoc_ha")
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation() as landing:
        page.locator("form[action$='/login'] button[type=submit]").click()
    assert landing.value.url == list_url  # back on the list as it was (then searched again)
    expect(page.locator("#q")).to_have_value("nguye")
    expect(page.locator("#status")).to_have_value("mismatch")
    notice = page.get_by_test_id("draft-restored")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("đã được khôi phục")
    # The search put back is run again: the results are those of what the box holds.
    expect(page).to_have_url(re.compile(r"/records\?(.*&)?q=nguye(&|$)"))
    expect(page).to_have_url(re.compile(r"/records\?(.*&)?status=mismatch"))
    names = page.locator("#results tbody tr td:first-child")
    expect(names.first).to_be_visible()
    assert all("nguye" in fold(name) for name in names.all_inner_texts()), names.all_inner_texts()
    expect(notice).to_be_visible()
    check_accessibility(page, "the list with the draft put back")
    page.screenshot(path=str(SCREENSHOTS / "e2e-session-end-draft.png"))

    # Put back once: a reload shows the page as the server sends it, without the notice.
    page.reload()
    expect(page.get_by_test_id("draft-restored")).to_have_count(0)
    assert not errors, errors
