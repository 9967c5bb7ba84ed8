"""The browser tests' helpers: Chromium (or the test skipped; failed under
REQUIRE_BROWSER=1, as in CI), a portal served for the browser, a module's own people added
to the session's demo portal, logging in through the form, and what counts as a page error.
The fixtures that use them (``browser``, ``page``, ``demo_portal``) are in conftest.py
beside this file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from portal.extensions import db
from tests.live import live_portal

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 10_000
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS", tempfile.gettempdir()))


def _no_browser(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def require_chromium() -> str:
    """Chromium's path, or the test skipped (failed under REQUIRE_BROWSER=1)."""
    path = shutil.which("chromium")
    if path is None:
        _no_browser("Chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _no_browser("the playwright package is not installed")
    return path


@contextmanager
def serve_portal(tmp: Path, seed: Callable[[], None], **config: Any) -> Iterator[tuple[Any, str]]:
    """A portal on a fresh SQLite file in ``tmp``, migrated, with the official areas and what
    ``seed`` adds, served on a free 127.0.0.1 port by a thread: (app, base URL)."""
    with live_portal(tmp, seed, kind="sqlite", **config) as served:
        yield served


def add_to_demo(demo_portal: tuple[Any, str], seed: Callable[[], None]) -> tuple[Any, str]:
    """What ``seed`` adds (run in the app context of the session's demo portal, committed):
    (app, base URL). A module adds its accounts and persons in a province of its own (the
    list is in conftest.py), so that no other module's list, count or search meets them."""
    app, url = demo_portal
    with app.app_context():
        seed()
        db.session.commit()
    return app, url


def log_in(page, base: str, username: str, password: str) -> None:
    """Through the login form, which is in Vietnamese before anyone has chosen a language."""
    page.goto(base + "/login")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form[action$='/login'] button[type=submit]").click()


def is_favicon(url: str) -> bool:
    # The portal has no favicon; Chromium asks for one anyway. Not a page error.
    return url.split("?")[0].endswith("/favicon.ico")


def console_error(msg, errors: list[str]) -> None:
    if msg.type == "error" and not is_favicon(msg.location.get("url", "")):
        errors.append(f"console.error: {msg.text} ({msg.location.get('url')})")
