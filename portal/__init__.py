"""The vaccination-record reconciliation portal."""

from __future__ import annotations

import warnings

from cryptography.utils import CryptographyDeprecationWarning


def _import_pyhanko_quietly() -> None:
    """cryptography 51 deprecates DSA, and pyHanko's signer module imports ``DSAPrivateKey``
    when it is imported (the portal never signs with DSA). Imported here first, under a
    filter for that one warning from that one module, every later import finds it loaded:
    no command, server or worker start prints it, and the tests keep every other warning an
    error. A later pyHanko that stops importing it leaves this filter with nothing to do."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message="DSA is deprecated",
            category=CryptographyDeprecationWarning,
            module=r"pyhanko\.sign\.signers\.pdf_cms",
        )
        import pyhanko.sign.signers.pdf_cms  # noqa: F401


# Before any module of the portal (or a test) imports pyHanko: see the function. The
# portal's own modules are imported below this call, not above it (hence E402 in
# pyproject.toml for this file).
_import_pyhanko_quietly()

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import cli, config
from portal import models as models  # every table in the metadata, so in the migrations
from portal.api.blueprint import bp as api_bp
from portal.audit.blueprint import bp as audit_bp
from portal.auth.blueprint import bp as auth_bp
from portal.core import headers, ids, web
from portal.core.blueprint import bp as core_bp
from portal.core.database import configure
from portal.core.files import create_private
from portal.core.i18n import select_locale, select_timezone
from portal.dashboard.blueprint import bp as dashboard_bp
from portal.extensions import babel, csrf, db, htmx, login_manager, migrate
from portal.feedback.blueprint import bp as feedback_bp
from portal.imports.blueprint import bp as imports_bp
from portal.jobs import queue as queue  # loads every domain's jobs.py: the tasks the worker runs
from portal.jobs.blueprint import bp as jobs_bp
from portal.passport.blueprint import bp as passport_bp
from portal.records.blueprint import bp as records_bp
from portal.registry.blueprint import bp as registry_bp
from portal.signing.blueprint import bp as signing_bp
from portal.worklists.blueprint import bp as worklists_bp

# Each domain's URLs, listed in its ``blueprint.py``.
BLUEPRINTS = (
    core_bp,
    auth_bp,
    audit_bp,
    records_bp,
    registry_bp,
    jobs_bp,
    worklists_bp,
    dashboard_bp,
    signing_bp,
    passport_bp,
    feedback_bp,
    api_bp,
    imports_bp,
)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    config.load(app, overrides)
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    db.init_app(app)
    with app.app_context():
        _configure_engine(db.engine, app.config)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    ids.init_app(app)  # the ``id`` converter, before the blueprints' rules name it
    web.init_app(app)
    headers.init_app(app)

    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    csrf.exempt(api_bp)  # bearer tokens, not cookies: no cross-site request to forge
    cli.init_app(app)
    return app


def _configure_engine(engine, settings) -> None:
    # Each transaction's BEGIN (SQLite) or limits (PostgreSQL).
    configure(engine, settings)
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
        create_private(database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so
        # that SAVEPOINTs work; enforce foreign keys; let readers run beside a writer.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
