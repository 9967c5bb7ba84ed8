"""The browser journeys' shared server: one portal for the whole test session, seeded once
with ``flask demo`` (every role's demo account, its password and signing PIN), served by
``serve_portal`` from test_browser.py (a fresh SQLite file, werkzeug in a thread on a free
127.0.0.1 port, jobs run at once in the request). Journeys that share it stay fast: the
demo is built once, not per module.

Tests here commit for real, so the suite's per-test rollback (and its session ``app``) is
replaced for the whole folder. Helpers: tests/e2e/axe.py (``check_accessibility``,
``log_in_as``); every test fails on a Content-Security-Policy violation (tests/e2e/csp.py).
"""

from __future__ import annotations

import pytest
from flask import current_app

from tests.e2e import csp
from tests.e2e.axe import DEMO_PASSWORD

# The browser, a fresh 1366×768 context per test (``page``): test_browser.py's fixtures,
# offered to every module of the folder.
from tests.e2e.test_browser import (  # noqa: F401
    browser,
    chromium_path,
    page,
    require_chromium,
    serve_portal,
)


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
