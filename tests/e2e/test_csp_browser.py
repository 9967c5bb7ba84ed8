"""Issue 14, item 14, in Chromium: the portal's Content-Security-Policy is in force (an
inline style, an inline script and an inline handler are refused), the browser tests'
watcher reports each refusal (so that every other browser test fails on one), and what
the policy made move out of the templates still works: the "select all" box of the review
list (an onclick before), htmx's busy indicator (its own injected styles before)."""

from __future__ import annotations

import time

import pytest

from tests.e2e import csp
from tests.e2e.axe import log_in_as

pytestmark = [pytest.mark.e2e, pytest.mark.committing]


def _reported(page, count: int) -> list[str]:
    """The violations reported so far, once there are ``count`` (the reports reach Python
    while Playwright waits for something)."""
    deadline = time.monotonic() + 5
    while len(csp.VIOLATIONS) < count and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return list(csp.VIOLATIONS)


def test_inline_style_script_and_handler_are_refused_and_reported(demo_server, page):
    """Issue 14, item 14: what an injected payload would try is refused by the browser, and
    the watcher of the browser tests reports each refusal."""
    response = page.goto(demo_server + "/login")
    assert "'nonce-" in response.headers["content-security-policy"]
    outcome = page.evaluate("""() => {
      document.body.setAttribute("style", "background-color: rgb(255, 0, 0)");
      const script = document.createElement("script");
      script.textContent = "window.__injected = true";
      document.body.append(script);
      const button = document.createElement("button");
      button.setAttribute("onclick", "window.__clicked = true");
      document.body.append(button);
      button.click();
      return {background: getComputedStyle(document.body).backgroundColor,
              injected: window.__injected === true, clicked: window.__clicked === true};
    }""")
    assert outcome == {"background": "rgb(255, 255, 255)", "injected": False, "clicked": False}
    # Each refusal twice: the document's event and Chromium's console message.
    reported = _reported(page, 6)
    events = " ".join(r for r in reported if not r.startswith("console."))
    assert "style-src-attr" in events
    assert "script-src-elem" in events
    assert "script-src-attr" in events
    assert sum("Content Security Policy" in r for r in reported) == 3
    csp.VIOLATIONS.clear()  # expected here: the autouse check must not fail this test


def test_select_all_and_the_busy_indicator_work_under_the_policy(demo_server, page):
    """Issue 14, item 14: the review list's "select all" box (a script file now, no inline
    handler) ticks and clears every person of the page; htmx's indicator stays hidden
    while nothing loads (portal.css, as htmx may not inject its own styles)."""
    from playwright.sync_api import expect

    log_in_as(page, demo_server, "police.ba_dinh")
    page.goto(demo_server + "/worklists/review")
    boxes = page.locator("#review-results input[name=person_ids]")
    assert boxes.count() > 1
    select_all = page.locator("input[data-select-all=person_ids]")
    select_all.check()
    for n in range(boxes.count()):
        expect(boxes.nth(n)).to_be_checked()
    select_all.uncheck()
    for n in range(boxes.count()):
        expect(boxes.nth(n)).not_to_be_checked()
    page.goto(demo_server + "/records")
    expect(page.locator("#search-indicator")).to_be_hidden()
