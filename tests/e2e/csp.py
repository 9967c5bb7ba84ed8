"""Every browser test fails on a Content-Security-Policy violation (issue 14, item 14).

Each context the session's browser opens (``watch_contexts``, called by the ``browser``
fixture) reports what Chromium refused, two ways: a ``securitypolicyviolation`` listener
that the context adds to every document before the page's own scripts run, and the
console's "Refused to …" messages (and Chromium's complaints about a header it cannot
read, such as a Permissions-Policy feature it does not know). Neither is subject to the
page's policy. tests/e2e/conftest.py fails the test when anything was reported.

The policy stays in force: ``bypass_csp`` would hide exactly what these tests look for.
"""

from __future__ import annotations

VIOLATIONS: list[str] = []

_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.effectiveDirective} refused ${event.blockedURI || "(inline)"} on ` +
    `${event.documentURI} at ${event.sourceFile || "?"}:${event.lineNumber}` +
    (event.sample ? ` (${event.sample})` : ""));
}, true);
"""
_CONSOLE_MARKS = (
    "Content Security Policy",
    "Content-Security-Policy",
    "Permissions-Policy",
    "Refused to ",
)


def _console(message) -> None:
    if any(mark in message.text for mark in _CONSOLE_MARKS):
        VIOLATIONS.append(f"console.{message.type}: {message.text} ({message.location.get('url')})")


def _report(text: str) -> None:
    VIOLATIONS.append(text)


def watch(context) -> None:
    context.expose_function("__reportCspViolation", _report)
    context.add_init_script(_LISTENER)
    context.on("console", _console)


def watch_contexts(browser) -> None:
    """Every context ``browser.new_context()`` opens from now on is watched."""
    new_context = browser.new_context

    def new_watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        watch(context)
        return context

    browser.new_context = new_watched_context
