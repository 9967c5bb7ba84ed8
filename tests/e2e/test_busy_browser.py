"""End to end in headless Chromium: a save that meets SQLite's write lock held longer than
the lock timeout (issue 15, item 1). The inline editor's htmx call is answered 503 "busy,
try again": the browser shows that message in the page's message area, the value typed
stays in the editor, and saving again once the lock is free saves it.

On the session's demo portal (tests/e2e/conftest.py). Without Chromium the test is skipped,
unless REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.axe import log_in_as
from tests.e2e.browser import SCREENSHOTS

pytestmark = [pytest.mark.e2e, pytest.mark.committing]


def test_a_save_while_the_database_is_busy_says_so_and_keeps_what_was_typed(demo_portal, page):
    from playwright.sync_api import expect

    app, base = demo_portal
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("SQLite's write lock")  # the demo portal is always SQLite
    log_in_as(page, base, "health.ngoc_ha")
    page.goto(base + "/records")
    page.locator("table tbody tr a").first.click()
    page.locator("a.edit-link[data-field=phone]").press("Enter")
    field = page.locator("input[name=phone]")
    expect(field).to_be_visible()
    field.fill("0912000111")
    save = page.locator("form:has(input[name=phone]) button[type=submit]")

    held = sqlite3.connect(url.database, isolation_level=None, timeout=10)
    try:
        held.execute("BEGIN IMMEDIATE")  # another writer, holding the lock meanwhile
        with page.expect_response(lambda r: "/correct/phone" in r.url) as answer:
            save.click()
        assert answer.value.status == 503
        assert answer.value.headers.get("retry-after") == "5"
        expect(page.locator("#messages")).to_contain_text("Hệ thống đang bận")
        expect(field).to_have_value("0912000111")
        page.screenshot(path=str(SCREENSHOTS / "busy-save.png"), full_page=True)
    finally:
        held.rollback()
        held.close()

    save.click()
    expect(page.get_by_test_id("save-message")).to_contain_text("Đã lưu")
    expect(page.locator("[data-field-cell=phone]")).to_contain_text("0912000111")
