"""The security headers of every response, in one place (issue 14, item 14).

A strict Content-Security-Policy: scripts and styles only from the portal's own files, or
an element carrying this request's nonce (``csp_nonce()`` in templates); no inline script,
no ``style=`` attribute, no ``eval`` (htmx is configured for it in layout.html). Every
response but the static files is ``Cache-Control: no-store``: pages and files show
persons, and a shared office computer must not keep them on disk or in its back button.
HSTS is sent only where ``HSTS_MAX_AGE`` is set (by default in production: config.py).
"""

from __future__ import annotations

import secrets

from flask import Flask, g, request

# Sensors and devices the portal never uses are refused to every origin (a script that got
# in cannot ask for them); WebAuthn passkeys (sign-in, issue 14 item 13) stay allowed here.
PERMISSIONS_POLICY = ", ".join(
    [
        "accelerometer=()",
        "camera=()",
        "display-capture=()",
        "geolocation=()",
        "gyroscope=()",
        "hid=()",
        "magnetometer=()",
        "microphone=()",
        "midi=()",
        "payment=()",
        "serial=()",
        "usb=()",
        "publickey-credentials-create=(self)",
        "publickey-credentials-get=(self)",
    ]
)


def csp_nonce() -> str:
    """This request's nonce: the same for every element of one page, new for each request."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    # img-src data: Bootstrap draws the select arrows and check marks as data: SVGs.
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        if response.mimetype == "application/pdf":
            # Chromium shows a PDF in a page of its own making, through an <embed> and
            # inline styles that this policy would refuse (crbug.com/271452); a PDF runs
            # no script of ours, and it still may not be framed.
            headers["Content-Security-Policy"] = "frame-ancestors 'none'"
        else:
            headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
        headers["Permissions-Policy"] = PERMISSIONS_POLICY
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "same-origin"
        max_age = int(app.config.get("HSTS_MAX_AGE") or 0)
        if max_age > 0:
            headers["Strict-Transport-Security"] = f"max-age={max_age}"
        if request.endpoint != "static":
            # Replaces what send_file set (max_age=0 still lets a disk cache keep the file).
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        return response
