"""Configuration: defaults, then ``instance/config.py``, then environment variables."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from portal.core import clock
from portal.core.database import engine_options
from portal.core.files import open_private, private_dir

ENV_KEYS = (
    "DATABASE_URL",
    "MIGRATIONS_DATABASE_URL",
    "SECRET_KEY",
    "PORTAL_ENV",
    "MAX_CONTENT_LENGTH",
    "LOGIN_MAX_FAILURES",
    "LOGIN_WINDOW_MINUTES",
    "LOGIN_FIRST_DELAY_MINUTES",
    "LOGIN_MAX_DELAY_MINUTES",
    "LOGIN_MAX_FAILURES_PER_ADDRESS",
    "LOGIN_ADDRESS_WINDOW_MINUTES",
    "MFA_PENDING_MINUTES",
    "MFA_MAX_FAILURES",
    "WEBAUTHN_RP_ID",
    "WEBAUTHN_ORIGIN",
    "TRUSTED_PROXIES",
    "REGISTER_URL",
    "REGISTER_TIMEOUT",
    "REGISTER_TOKEN",
    "REGISTER_BATCH_SIZE",
    "SIGNING_TSA_URL",
    "SIGNING_LEVEL",
    "SIGNING_PREPARED_MINUTES",
    "SIGNING_TRUST_ROOTS",
    "SIGNING_PKCS11_MODULE",
    "SIGNING_ORGANISATION_P12",
    "SIGNING_ORGANISATION_PASSWORD",
    "DCC_TOKEN_LABEL",
    "DCC_TOKEN_PIN",
    "DCC_ISSUER_NAME",
    "DCC_CSCA_DIR",
    "SIGNING_DEMO_SERVICES_URL",
    "SIGNING_REVOCATION_FETCH",
    "AUDIT_CHECKPOINT_DIR",
    "AUDIT_CHECKPOINT_MINUTES",
    "PUBLIC_BASE_URL",
    "DOCUMENTS_DIR",
    "FEEDBACK_RATE_LIMIT",
    "FEEDBACK_STATUS_RATE_LIMIT",
    "FEEDBACK_SMS_ADAPTER",
    "FEEDBACK_EMAIL_ADAPTER",
    "FEEDBACK_RATE_WINDOW_MINUTES",
    "FEEDBACK_FAILURE_LIMIT",
    "FEEDBACK_FAILURE_WINDOW_MINUTES",
    "FEEDBACK_STATUS_CODE_MAX_WRONG",
    "FEEDBACK_STATUS_CODE_FIRST_DELAY_MINUTES",
    "FEEDBACK_STATUS_CODE_MAX_DELAY_MINUTES",
    "FEEDBACK_STATUS_CODE_WINDOW_DAYS",
    "FEEDBACK_STATUS_REVEAL_MINUTES",
    "FEEDBACK_ATTACHMENT_MAX_BYTES",
    "SIGNING_MAX_SCAN_BYTES",
    "SIGNING_ALLOW_SERVER_KEYS",
    "SIGNING_CSC_TIMEOUT",
    "SIGNING_CSC_BATCH",
    "VERIFY_RATE_LIMIT",
    "VERIFY_RATE_WINDOW_MINUTES",
    "UPLOADS_DIR",
    "JOB_STALE_MINUTES",
    "JOB_TEST_PAUSE_SECONDS",
    "IMPORT_MAX_BYTES",
    "IMPORT_INLINE_BYTES",
    "HSTS_MAX_AGE",
    "DATABASE_CONNECT_TIMEOUT",
    "DATABASE_STATEMENT_TIMEOUT",
    "DATABASE_WORKER_STATEMENT_TIMEOUT",
    "DATABASE_LOCK_TIMEOUT",
    "DATABASE_POOL_TIMEOUT",
)
# Only these are numbers; anything else (a token with leading zeros) stays a string.
NUMERIC_KEYS = frozenset(
    {
        "MAX_CONTENT_LENGTH",
        "LOGIN_MAX_FAILURES",
        "LOGIN_WINDOW_MINUTES",
        "TRUSTED_PROXIES",
        "LOGIN_FIRST_DELAY_MINUTES",
        "LOGIN_MAX_DELAY_MINUTES",
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        "LOGIN_ADDRESS_WINDOW_MINUTES",
        "MFA_PENDING_MINUTES",
        "MFA_MAX_FAILURES",
        "SIGNING_PREPARED_MINUTES",
        "REGISTER_TIMEOUT",
        "REGISTER_BATCH_SIZE",
        "FEEDBACK_RATE_LIMIT",
        "FEEDBACK_STATUS_RATE_LIMIT",
        "IMPORT_MAX_BYTES",
        "IMPORT_INLINE_BYTES",
        "FEEDBACK_RATE_WINDOW_MINUTES",
        "FEEDBACK_ATTACHMENT_MAX_BYTES",
        "SIGNING_MAX_SCAN_BYTES",
        "SIGNING_CSC_TIMEOUT",
        "SIGNING_CSC_BATCH",
        "JOB_STALE_MINUTES",
        "FEEDBACK_FAILURE_LIMIT",
        "FEEDBACK_FAILURE_WINDOW_MINUTES",
        "FEEDBACK_STATUS_REVEAL_MINUTES",
        "VERIFY_RATE_LIMIT",
        "VERIFY_RATE_WINDOW_MINUTES",
        "FEEDBACK_STATUS_CODE_MAX_WRONG",
        "FEEDBACK_STATUS_CODE_FIRST_DELAY_MINUTES",
        "FEEDBACK_STATUS_CODE_MAX_DELAY_MINUTES",
        "FEEDBACK_STATUS_CODE_WINDOW_DAYS",
        "AUDIT_CHECKPOINT_MINUTES",
        "HSTS_MAX_AGE",
        "DATABASE_CONNECT_TIMEOUT",
        "DATABASE_STATEMENT_TIMEOUT",
        "DATABASE_WORKER_STATEMENT_TIMEOUT",
        "DATABASE_LOCK_TIMEOUT",
        "DATABASE_POOL_TIMEOUT",
    }
)


class Defaults:
    PORTAL_ENV = "production"
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # How long the portal waits for its database, in seconds (portal/core/database.py);
    # past them a page answers "busy, try again" (503 with Retry-After). Connecting
    # (PostgreSQL; at least 2); one statement of a request (PostgreSQL) and of a job or a
    # command (the worker, the CLI, migrations; 0: no limit); a lock (SQLite's write lock,
    # PostgreSQL's row and table locks of requests); a free connection in the pool.
    DATABASE_CONNECT_TIMEOUT = 5
    DATABASE_STATEMENT_TIMEOUT = 15
    DATABASE_WORKER_STATEMENT_TIMEOUT = 0
    DATABASE_LOCK_TIMEOUT = 5
    DATABASE_POOL_TIMEOUT = 5
    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = clock.ZONE_NAME
    LANGUAGES = ("vi", "en")
    # A commune office uploads spreadsheets later; 16 MiB is ample for forms.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 1024 * 1024
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    PERMANENT_SESSION_LIFETIME = timedelta(hours=8)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "portal_session"
    # A sign-in lasts PERMANENT_SESSION_LIFETIME from the sign-in (the login session's
    # start, checked on the server), not from the last page: the cookie is written when the
    # session changes, not signed and sent again with every answer.
    SESSION_REFRESH_EACH_REQUEST = False
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    # Login throttle (portal/auth/services.py): per (account, address), after 5 failures
    # since that pair's last success a wait of 1 min, doubling per further failure, at
    # most 60; failures older than a day are forgotten. Per address alone, loosely (a
    # commune office behind one NAT): 100 failures of any accounts within 15 minutes.
    LOGIN_MAX_FAILURES = 5
    LOGIN_FIRST_DELAY_MINUTES = 1
    LOGIN_MAX_DELAY_MINUTES = 60
    LOGIN_WINDOW_MINUTES = 24 * 60
    LOGIN_MAX_FAILURES_PER_ADDRESS = 100
    LOGIN_ADDRESS_WINDOW_MINUTES = 15
    # Second factors (portal/auth/mfa.py): how long the step after the password (or a
    # first set-up) may take; wrong codes of one account, from any address, since its last
    # login before it waits as a pair would (they count in the limits above too).
    MFA_PENDING_MINUTES = 10
    MFA_MAX_FAILURES = 10
    # Passkeys belong to a relying-party id (a host name) and are checked against the
    # origin; unset: PUBLIC_BASE_URL's, else the host the request came to.
    WEBAUTHN_RP_ID: str | None = None
    WEBAUTHN_ORIGIN: str | None = None
    RECORDS_PAGE_SIZE = 50
    # Number of reverse proxies (nginx, ...) in front of gunicorn whose X-Forwarded-For
    # and X-Forwarded-Proto are trusted; 0 when clients connect directly.
    TRUSTED_PROXIES = 0
    # Strict-Transport-Security max-age in seconds; None: a year in production, 0 (not
    # sent) in development and testing; 0 turns it off.
    HSTS_MAX_AGE: int | None = None
    # Signing (PAdES): the RFC 3161 TSA (without one, the demo's in-process TSA), the level
    # (B-B, B-T, B-LT, B-LTA), a PEM bundle of trusted roots for verification, the scan size limit.
    SIGNING_TSA_URL: str | None = None
    SIGNING_LEVEL = "B-T"
    SIGNING_TRUST_ROOTS: str | None = None
    SIGNING_MAX_SCAN_BYTES = 10 * 1024 * 1024
    # A document prepared for a key in the signer's browser must be signed within this many
    # minutes (portal/signing/browser.py).
    SIGNING_PREPARED_MINUTES = 5
    # The organisation's own certificate and key (a PKCS#12 file and its password): it signs
    # the audit trail's checkpoints. Without one, the demo's organisation certificate.
    SIGNING_ORGANISATION_P12: str | None = None
    SIGNING_ORGANISATION_PASSWORD: str | None = None
    # The vaccine passport (portal/passport): the PKCS#11 token holding the Document
    # Signers' keys (through SIGNING_PKCS11_MODULE), its user PIN, and the issuer's name
    # printed in each certificate (``is``).
    DCC_TOKEN_LABEL = "dcc-issuer"
    DCC_TOKEN_PIN: str | None = None
    DCC_ISSUER_NAME = "Cục Y tế dự phòng - Bộ Y tế"
    # The demo's Country Signing CA (certificate and key files); default instance/dcc-csca.
    DCC_CSCA_DIR: str | None = None
    # A person's key held by the portal's server (PKCS#12 or PKCS#11) may sign: None means
    # on in development and tests (the demo), off in production, where a person signs at a
    # remote-signing provider or in the browser (issue 17; organisation seals stay).
    SIGNING_ALLOW_SERVER_KEYS: bool | None = None
    # A remote-signing provider (CSC API): seconds allowed for each call, and the most
    # certificates one authorisation covers in a batch (also bounded by the provider's own).
    SIGNING_CSC_TIMEOUT = 10
    SIGNING_CSC_BATCH = 100
    # The demo services (python -m portal.signing.demo_services: the demo PKI's OCSP
    # responder, CRLs and TSA under /pki, the demo CSC provider at its root); the demo
    # certificates name this address. None: the demo PKI's own record, else 127.0.0.1:9780.
    SIGNING_DEMO_SERVICES_URL: str | None = None
    # Whether pyHanko may fetch revocation data (OCSP, CRLs) from the addresses in the
    # certificates: when signing at B-LT/B-LTA, when checking a signer's certificate
    # before signing, and when verifying. Off (the default) an offline deployment works:
    # revocation is judged on what a file embeds (B-LT), missing data is no failure.
    SIGNING_REVOCATION_FETCH = False
    # Audit checkpoints (portal/signing/checkpoints.py): the chain's head signed and
    # time-stamped, written to this folder (default instance/audit-checkpoints) by the
    # worker when the chain has grown and this many minutes have passed (0: never).
    AUDIT_CHECKPOINT_DIR: str | None = None
    AUDIT_CHECKPOINT_MINUTES = 60
    # Anonymous verifications (/verify, the QR link) per client address and window; staff
    # logged in are not limited. A verdict is cached, but each upload is still read and hashed.
    VERIFY_RATE_LIMIT = 60
    VERIFY_RATE_WINDOW_MINUTES = 10
    # Citizens' complaints: the certificate photo or scan, and the public form's limits
    # per client address, per window: accepted complaints; refused submissions (a more
    # generous count over a shorter window: many citizens share a mobile network's
    # address); failed status look-ups per address. A status shown after the phone or
    # birth date is shown again without them for a few minutes.
    FEEDBACK_ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
    FEEDBACK_RATE_LIMIT = 20
    FEEDBACK_STATUS_RATE_LIMIT = 30
    FEEDBACK_RATE_WINDOW_MINUTES = 60
    FEEDBACK_FAILURE_LIMIT = 60
    FEEDBACK_FAILURE_WINDOW_MINUTES = 10
    # Wrong answers for one tracking code, from any address (issue 14, item 10): after
    # MAX_WRONG of them within WINDOW_DAYS, one detail waits FIRST_DELAY minutes after the
    # last wrong answer, doubling with each further one up to MAX_DELAY; the phone number
    # and the date of birth given together are never kept waiting.
    FEEDBACK_STATUS_CODE_MAX_WRONG = 5
    FEEDBACK_STATUS_CODE_FIRST_DELAY_MINUTES = 15
    FEEDBACK_STATUS_CODE_MAX_DELAY_MINUTES = 24 * 60
    FEEDBACK_STATUS_CODE_WINDOW_DAYS = 30
    FEEDBACK_STATUS_REVEAL_MINUTES = 10
    FEEDBACK_QUEUE_PAGE_SIZE = 50
    # How often the dashboard's figures refresh in the open page (seconds).
    DASHBOARD_REFRESH_SECONDS = 30


def load(app, overrides: dict | None = None) -> None:
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for key in ENV_KEYS:
        if key in os.environ:
            value = os.environ[key]
            app.config[key] = int(value) if key in NUMERIC_KEYS and value.isdigit() else value
    if "DATABASE_URL" in app.config:
        app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_url(app.config["DATABASE_URL"])
    if overrides:
        app.config.update(overrides)
    if app.config.get("MIGRATIONS_DATABASE_URL"):
        app.config["MIGRATIONS_DATABASE_URL"] = _normalise_url(
            app.config["MIGRATIONS_DATABASE_URL"]
        )
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "portal.sqlite3"
        )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    development = app.config["PORTAL_ENV"] in ("development", "testing")
    allow = app.config.get("SIGNING_ALLOW_SERVER_KEYS")
    if allow is None:
        app.config["SIGNING_ALLOW_SERVER_KEYS"] = development
    elif isinstance(allow, str):
        app.config["SIGNING_ALLOW_SERVER_KEYS"] = allow.strip().lower() in (
            "1",
            "true",
            "yes",
            "on",
        )
    if "SESSION_COOKIE_SECURE" not in (overrides or {}):
        # Outside development the cookies only travel over HTTPS.
        app.config["SESSION_COOKIE_SECURE"] = not development
    if app.config.get("HSTS_MAX_AGE") is None:
        # Strict-Transport-Security (portal/core/headers.py): a year in production, where
        # the portal is only reached over HTTPS; never in development over plain HTTP.
        app.config["HSTS_MAX_AGE"] = 0 if development else 365 * 24 * 3600

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)


def _normalise_url(url: str) -> str:
    # Heroku-style URLs and plain "postgresql://" both mean psycopg 3 here.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret(instance: Path) -> str:
    """A per-installation key kept in the instance folder, so sessions survive restarts."""
    private_dir(instance)
    path = instance / "secret_key"
    if not path.exists():
        with open_private(path, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
