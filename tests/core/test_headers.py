"""Issue 14, item 14: a strict Content-Security-Policy with a nonce per request, a
Permissions-Policy, HSTS in production only, ``Cache-Control: no-store`` on every page and
file (they show persons), and templates that need no inline script, handler or style."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portal import create_app
from portal.auth.models import Role
from portal.extensions import db
from portal.feedback import services as feedback_services
from tests.conftest import HANOI, csrf_token
from tests.feedback.conftest import submission

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{16,})'")


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_every_page_has_a_strict_policy(client):
    """Issue 14, item 14: scripts and styles from the portal or with this request's nonce,
    nothing inline, no eval, no plugins, no framing, no foreign <base> or form target."""
    response = client.get("/login")
    policy = directives(response)
    nonce = NONCE.search(policy["script-src"]).group(1)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == f"script-src 'self' 'nonce-{nonce}'"
    assert policy["style-src"] == f"style-src 'self' 'nonce-{nonce}'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["base-uri"] == "base-uri 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["form-action"] == "form-action 'self'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    permissions = response.headers["Permissions-Policy"]
    for refused in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert refused in permissions
    # WebAuthn passkeys (issue 14, item 13) stay possible on the portal itself.
    assert "publickey-credentials-get=(self)" in permissions
    assert "publickey-credentials-create=(self)" in permissions
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_nonce_is_new_for_each_request_and_is_the_pages(client):
    """Issue 14, item 14: each response has its own nonce, the one its script tags carry."""
    nonces = []
    for _ in range(3):
        response = client.get("/login")
        nonce = NONCE.search(directives(response)["script-src"]).group(1)
        page = response.get_data(as_text=True)
        scripts = re.findall(r"<script\b[^>]*>", page)
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
        nonces.append(nonce)
    assert len(set(nonces)) == 3


def test_the_htmx_configuration_needs_no_eval_and_no_inline_style(client):
    """Issue 14, item 14: htmx neither evaluates attribute code nor adds its own <style>,
    and it does not copy a style attribute from an element it replaces onto the new one
    (setAttribute("style", …) is refused, even an empty one: the browser tests met one)."""
    page = client.get("/login").get_data(as_text=True)
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)[1])
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert "style" not in config["attributesToSettle"]


def test_pages_and_files_that_show_persons_are_not_stored(client, login_as, make_person):
    """Issue 14, item 14: a shared office computer keeps no copy of a person's page or of an
    export (disk cache, back button); static files may be cached."""
    login_as(Role.HEALTH_STATION)
    person = make_person(full_name="Nguyễn Văn An")
    for path in (
        "/records",
        f"/records/{person.id}",
        "/records/export.csv",
        "/records/export.xlsx",
        "/worklists/review",
        "/no-such-page",
    ):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path
        assert "Expires" not in response.headers, path
    fragment = client.get("/records?q=an", headers={"HX-Request": "true", "HX-Target": "results"})
    assert fragment.headers["Cache-Control"] == "no-store"
    with client.get("/static/css/portal.css") as static:
        assert static.status_code == 200
        assert "no-store" not in static.headers.get("Cache-Control", "")


def test_a_pdf_is_not_stored_and_chromium_may_show_it(client, login_as):
    """Issue 14, item 14: a PDF report is no-store too; its policy only forbids framing, as
    Chromium's own PDF viewer needs an <embed> and inline styles (crbug.com/271452)."""
    login_as(Role.HEALTH_AUTHORITY, HANOI)
    response = client.get("/dashboard/report.pdf")
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_the_public_complaint_status_is_not_stored(app, client):
    """Issue 14, item 14: the citizen's status page (their name, birth date, answers)."""
    feedback, _created = feedback_services.submit(submission())
    db.session.commit()
    path = f"/feedback/{feedback.code}"
    client.post(path, data={"phone": "0912345678", "csrf_token": csrf_token(client, path)})
    response = client.get(path)
    assert 'data-testid="status"' in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/verify").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("env", "override", "expected"),
    [
        ("production", {}, "max-age=31536000"),
        ("production", {"HSTS_MAX_AGE": 600}, "max-age=600"),
        ("production", {"HSTS_MAX_AGE": 0}, None),
        ("development", {}, None),
        ("testing", {}, None),
    ],
)
def test_hsts_only_in_production(tmp_path, env, override, expected):
    """Issue 14, item 14: Strict-Transport-Security in production (a year unless
    HSTS_MAX_AGE says otherwise), never in development over plain HTTP."""
    app = create_app(
        {
            "PORTAL_ENV": env,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/hsts.sqlite3",
            **override,
        }
    )
    with app.test_client().get("/static/favicon.svg") as response:
        assert response.headers.get("Strict-Transport-Security") == expected
    with app.app_context():
        db.engine.dispose()


INLINE_HANDLER = re.compile(r"<[^>]*\s(on[a-z]+)\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVAL_ATTRIBUTES = re.compile(
    r"\b(hx-on\S*|hx-vars|data-hx-on\S*)\s*=|\bjs:|javascript:", re.IGNORECASE
)
TRIGGER_FILTER = re.compile(r'hx-trigger="[^"]*\[')


@pytest.mark.parametrize(
    "path", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES))
)
def test_templates_have_nothing_inline(path):
    """Issue 14, item 14: no style= attribute, <style> block, inline script, inline event
    handler, or htmx attribute evaluated as code (hx-on, hx-vars, js:, a trigger filter;
    a CSS selector after from: is fine): the policy would refuse each of them."""
    text = path.read_text(encoding="utf-8")
    assert "style=" not in text
    assert "<style" not in text.lower()
    assert not INLINE_SCRIPT.search(text)
    # 'self' admits the portal's own files; the nonce on each keeps them loading should
    # the policy ever trust scripts by nonce alone ('strict-dynamic').
    assert all('nonce="{{ csp_nonce() }}"' in tag for tag in re.findall(r"<script\b[^>]*>", text))
    assert not INLINE_HANDLER.search(text), INLINE_HANDLER.search(text)
    assert not EVAL_ATTRIBUTES.search(text)
    for trigger in TRIGGER_FILTER.findall(text):
        assert re.search(r"from:[^ ,\"]*\[", trigger), trigger
