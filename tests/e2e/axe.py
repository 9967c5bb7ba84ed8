"""Helpers of the browser journeys: axe-core's WCAG 2.1 A/AA check of the page in front of
the user, and logging in as one of the demo accounts (``flask demo``).

axe-core is vendored from the npm registry (``npm pack axe-core@4``: only ``axe.min.js``,
its licence header kept, the version in its name) and evaluated by Playwright in the page
being checked, so no test needs a network.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from portal.demo.services import DEFAULT_PASSWORD, DEFAULT_PIN

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The demo's password and signing PIN (issue 14, item 12: two secrets, not one).
DEMO_PASSWORD = DEFAULT_PASSWORD
DEMO_PIN = DEFAULT_PIN

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "),
                              summary: (n.failureSummary || "").replace(/\\s+/g, " ")})),
  }));
}"""


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def accessibility_violations(page) -> list[dict]:
    """axe-core's WCAG 2.1 A and AA violations on the page as it is now."""
    if not page.evaluate("typeof window.axe === 'object'"):
        # Evaluated by the DevTools protocol, which the page's Content-Security-Policy does
        # not govern (a <script> tag added to the page would be refused, as it should be).
        page.evaluate(_axe_source())
    return page.evaluate(_RUN, WCAG_21_AA)


def format_violations(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        lines += [f"    {n['target']}: {n['summary']}" for n in v["nodes"]]
    return "\n".join(lines)


def check_accessibility(page, label: str | None = None) -> None:
    """Fails the test listing each WCAG 2.1 A/AA violation axe-core finds on the page."""
    violations = accessibility_violations(page)
    if violations:
        count = sum(len(v["nodes"]) for v in violations)
        pytest.fail(
            f"{label or page.url}: {count} accessibility violation(s) (axe-core, "
            f"WCAG 2.1 AA)\n{format_violations(violations)}",
            pytrace=False,
        )


def log_in_as(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Through the login form, as a demo account; waits until the login has led away."""
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("form[action$='/login'] button[type=submit]").click()
    if "/login" in page.url:
        raise AssertionError(f"could not log in as {username}")
