"""The vaccination-record reconciliation portal."""

from __future__ import annotations

import warnings

from cryptography.utils import CryptographyDeprecationWarning
from flask import Flask

from portal import config
from portal.core.files import create_private
from portal.extensions import babel, csrf, db, htmx, login_manager, migrate


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


# Before any module of the portal (or a test) imports pyHanko: see the function.
_import_pyhanko_quietly()


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    config.load(app, overrides)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    # Import the models so that metadata (and so migrations) knows every table.
    from portal import models  # noqa: F401

    db.init_app(app)
    with app.app_context():
        _configure_engine(db.engine, app.config)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    from portal.core.i18n import select_locale, select_timezone

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)

    from portal.core import headers, ids, web

    ids.init_app(app)  # the ``id`` converter, before the blueprints' rules name it
    web.init_app(app)
    headers.init_app(app)

    from portal.api.routes import bp as api_bp
    from portal.audit.routes import bp as audit_bp
    from portal.auth import (
        account_routes,  # noqa: F401  (administrators' account pages)
        mfa_routes,  # noqa: F401  (second factors: login, security, admin)
    )
    from portal.auth.routes import bp as auth_bp
    from portal.core.routes import bp as core_bp
    from portal.dashboard.routes import bp as dashboard_bp
    from portal.feedback import queue_routes  # noqa: F401  (staff pages on the blueprint)
    from portal.feedback.routes import bp as feedback_bp
    from portal.imports.routes import bp as imports_bp
    from portal.jobs.routes import bp as jobs_bp
    from portal.records import correction_routes, dose_routes  # noqa: F401  (/records/<id>/…)
    from portal.records.routes import bp as records_bp
    from portal.registry import match_routes  # noqa: F401  (adds /registry/match)
    from portal.registry.routes import bp as registry_bp
    from portal.signing.routes import bp as signing_bp
    from portal.worklists import (  # noqa: F401  (routes on the worklists blueprint)
        decision_lists,
        handover_routes,
    )
    from portal.worklists.routes import bp as worklists_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(registry_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(worklists_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(signing_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer tokens, not cookies: no cross-site request to forge
    app.register_blueprint(imports_bp)
    import portal.feedback.jobs  # noqa: F401  (the escalation and outbox tasks)
    import portal.imports.jobs  # noqa: F401  (registers the job handlers)
    import portal.registry.jobs  # noqa: F401  (registers the job handlers)
    import portal.signing.jobs  # noqa: F401  (registers the batch-signing job)
    from portal import cli

    cli.init_app(app)
    return app


def _configure_engine(engine, settings) -> None:
    from portal.core.database import configure

    # Each transaction's BEGIN (SQLite) or limits (PostgreSQL).
    configure(engine, settings)
    if engine.dialect.name != "sqlite":
        return
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        # Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
        create_private(database)
    from sqlalchemy import event

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
