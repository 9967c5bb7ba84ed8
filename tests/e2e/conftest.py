"""The browser tests' fixtures: a Chromium per module (``browser``), a fresh 1366×768
context per test (``page``), and the journeys' shared server: one portal for
the session, seeded once with ``flask demo`` (every role's demo account, its password and
signing PIN), served by ``serve_portal`` (tests/e2e/browser.py: a fresh SQLite file,
werkzeug in a thread on a free 127.0.0.1 port, jobs run at once in the request). Every
module uses it: the demo is built once, not per module (once per pytest-xdist worker).

The journeys work in the demo's province (Hà Nội), each on persons no other journey touches
(people.py). A module that needs a world of its own adds it to the same portal
(``add_to_demo``, browser.py) in a province of its own, which no other module reads:

====================================  =========================================
test_browser.py                       Hải Phòng (31), a namesake in Cao Bằng (04)
test_dashboard_browser.py             Quảng Ninh (22)
test_document_area_browser.py         Nghệ An (40)
test_feedback_browser.py              Thanh Hóa (38)
test_mfa_browser.py                   Lào Cai (15)
test_signing_browser.py               Huế (46)
test_browser_key_browser.py           Khánh Hòa (56)
====================================  =========================================

Its ID numbers start with a province code the demo never draws (portal/demo/generator.py).
One module has a portal of its own: test_register_browser.py replaces the whole national
register, which every other module's persons are matched against.

Tests here commit for real, so the suite's per-test rollback (and its session ``app``) is
replaced for the whole folder. Helpers: tests/e2e/axe.py (``check_accessibility``,
``log_in_as``); every test fails on a Content-Security-Policy violation (tests/e2e/csp.py).
"""

from __future__ import annotations

import pytest
from flask import current_app

from tests.e2e import csp
from tests.e2e.axe import DEMO_PASSWORD
from tests.e2e.browser import CHROMIUM_ARGS, TIMEOUT_MS, require_chromium, serve_portal


@pytest.fixture(autouse=True)
def _rollback():
    """Replaces the suite's: no outer transaction, and no session ``app`` pulled in."""
    yield


@pytest.fixture(autouse=True)
def _no_csp_violation():
    """Issue 14, item 14: a test fails when Chromium refused anything under the portal's
    Content-Security-Policy on any page it opened (tests/e2e/csp.py). Checked after the
    test's own fixtures have closed their browser contexts, so nothing reported late is
    missed."""
    csp.VIOLATIONS.clear()
    yield
    if csp.VIOLATIONS:
        found = "\n".join(dict.fromkeys(csp.VIOLATIONS))
        csp.VIOLATIONS.clear()
        pytest.fail(f"Content-Security-Policy violations:\n{found}", pytrace=False)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def browser(chromium_path):
    """A Chromium per module: closed before the next module's tests, which may be of
    another folder (pytest-xdist) and should not share a thread with its event loop."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        csp.watch_contexts(browser)  # every test fails on a CSP violation (below)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, timezone_id="Asia/Ho_Chi_Minh"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def other_page(browser):
    """A page in a second browser context: another profile, with its own cookies and
    IndexedDB (the browser-key test: no key there)."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, timezone_id="Asia/Ho_Chi_Minh"
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _flask_demo() -> None:
    result = current_app.test_cli_runner().invoke(args=["demo", "--password", DEMO_PASSWORD])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def demo_portal(tmp_path_factory):
    """(app, base URL) of the session's demo portal."""
    require_chromium()
    tmp = tmp_path_factory.mktemp("e2e-demo")
    with serve_portal(tmp, _flask_demo, SIGNING_DEMO_PKI_DIR=str(tmp / "demo-pki")) as served:
        yield served


@pytest.fixture(scope="session")
def demo_server(demo_portal) -> str:
    """The base URL of the session's demo portal."""
    return demo_portal[1]
