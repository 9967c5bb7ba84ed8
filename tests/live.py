"""A real portal served on loopback, on a database of its own, for tests whose clients run
at the same time (threads, other processes) and so must see committed data: concurrency,
double submits, jobs killed half-way, the browser.

The database is of the kind the suite runs on: a SQLite file in a temporary folder; under
``DATABASE_URL`` a new PostgreSQL database beside the suite's (its name plus ``_live``),
created and migrated by the owner role (``MIGRATIONS_DATABASE_URL``, else the suite's own
role, which then needs CREATEDB), used by the application's role, dropped at the end. The
suite's own database and its per-test rollback are not touched: modules that use this mark
themselves ``committing``.

The server is werkzeug's, a thread per request, each with its own app context and its own
database connection, as gunicorn's threads have.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from portal import create_app
from portal.areas import services as area_services
from portal.core.roles import grant_app_role
from portal.extensions import db

PROJECT = Path(__file__).resolve().parent.parent
TEST_CONFIG = {
    "PORTAL_ENV": "testing",
    "SECRET_KEY": "live",
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "HUEY_IMMEDIATE": True,
    "WTF_CSRF_ENABLED": True,
}


def suite_kind() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return "postgresql" if url.startswith("postgres") else "sqlite"


@contextmanager
def _postgres_database() -> Iterator[tuple[str, str | None]]:
    """A new, empty PostgreSQL database beside the suite's: (application URL, owner URL)."""
    app_url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    owner_env = _suite_owner_url()
    name = f"{app_url.database}_live"
    live_app = app_url.set(database=name).render_as_string(hide_password=False)
    live_owner = (
        make_url(owner_env).set(database=name).render_as_string(hide_password=False)
        if owner_env
        else None
    )
    with database_of_its_own(live_app, live_owner):
        yield live_app, live_owner


def worker_url(url: str, worker: str) -> str:
    """``url`` with pytest-xdist's worker name ("gw0") added to its database's name."""
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


@contextmanager
def database_of_its_own(app_url: str, owner_url: str | None) -> Iterator[None]:
    """The PostgreSQL database that ``app_url`` names, new and empty (a leftover of an
    interrupted run is dropped first), created by the owner (``owner_url``, else the
    application's role, which then needs CREATEDB), dropped at the end."""
    app = make_url(app_url).set(drivername="postgresql+psycopg")
    owner = make_url(owner_url) if owner_url else app
    name = app.database or ""
    if "test" not in name:
        raise RuntimeError("refusing to create a PostgreSQL database whose name lacks 'test'")
    admin = sa.create_engine(
        owner.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=sa.pool.NullPool,
    )
    try:
        _drop(admin, name, app)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield
    finally:
        _drop(admin, name, app)
        admin.dispose()


def _drop(admin: sa.Engine, name: str, app_url: sa.URL) -> None:
    """Drop the database even while a request thread that outlived the server still holds
    a connection of the application's role: FORCE as the owner may not end another role's
    sessions, so the application's role ends its own first; a few tries, as threads end."""
    for attempt in range(20):
        try:
            _end_sessions(app_url)
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.DBAPIError:
            if attempt == 19:
                raise
            time.sleep(0.25)


def _end_sessions(app_url: sa.URL) -> None:
    engine = sa.create_engine(app_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND usename = current_user "
                "AND pid <> pg_backend_pid()"
            )
    except sa.exc.OperationalError:
        pass  # no such database (yet, or any more)
    finally:
        engine.dispose()


def _suite_owner_url() -> str | None:
    # tests/conftest.py takes MIGRATIONS_DATABASE_URL out of the environment (so that the
    # apps other tests make never migrate with it) and keeps it here.
    from tests.conftest import OWNER_URL

    return OWNER_URL


@contextmanager
def live_config(tmp: Path, kind: str | None = None) -> Iterator[dict[str, Any]]:
    """The configuration of an app on a new database of ``kind`` (default: the suite's)."""
    if (kind or suite_kind()) == "sqlite":
        yield {
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp / "live.sqlite3"),
            "MIGRATIONS_DATABASE_URL": None,
        }
        return
    with _postgres_database() as (app_url, owner_url):
        yield {"SQLALCHEMY_DATABASE_URI": app_url, "MIGRATIONS_DATABASE_URL": owner_url}


def migrated_app(config: dict[str, Any]) -> Flask:
    """An app on an empty database: migrated (by the owner), granted, official areas in."""
    from portal.core.roles import app_role_name, owner_engine

    app = create_app({**TEST_CONFIG, **config})
    with app.app_context():
        upgrade(directory=str(PROJECT / "migrations"))
        if app.config.get("MIGRATIONS_DATABASE_URL"):
            with owner_engine() as owner, owner.begin() as connection:
                grant_app_role(connection, app_role_name() or "")
        area_services.load_official_areas()
        db.session.commit()
    return app


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """``app`` served on a free loopback port, a thread per request: its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@contextmanager
def live_portal(
    tmp: Path, seed: Callable[[], None], kind: str | None = None, **config: Any
) -> Iterator[tuple[Flask, str]]:
    """A migrated portal with what ``seed`` adds (run in its app context, committed),
    served: (app, base URL)."""
    with live_config(tmp, kind) as database:
        # Files in ``tmp``, never in the checkout's instance/ that other processes share.
        files = {
            "SIGNING_DEMO_PKI_DIR": str(tmp / "demo-pki"),
            "AUDIT_CHECKPOINT_DIR": str(tmp / "audit-checkpoints"),
            "DOCUMENTS_DIR": str(tmp / "documents"),
            "UPLOADS_DIR": str(tmp / "uploads"),
        }
        app = migrated_app({**files, **database, **config})
        with app.app_context():
            seed()
            db.session.commit()
        with serve(app) as url:
            yield app, url


# --- clients ---------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    """The CSRF token of a page's HTML (the suite's pattern, tests/conftest.py)."""
    from tests.conftest import CSRF_RE

    found = CSRF_RE.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


def logged_in(base: str, username: str, password: str) -> requests.Session:
    """A browser-like client (its own cookies) logged in as ``username``."""
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=30)
    answer = client.post(
        f"{base}/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_token(page.text),
        },
        allow_redirects=False,
        timeout=60,
    )
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    return client


def form_token(client: requests.Session, url: str) -> str:
    """The CSRF token of the page at ``url`` (the session's, valid for any of its forms)."""
    page = client.get(url, timeout=30)
    assert page.status_code == 200, (url, page.status_code)
    return csrf_token(page.text)


def at_once(calls: list[Callable[[], Any]], timeout: float = 120) -> list[Any]:
    """Run every call in a thread of its own, released together; their results (or the
    exception each raised) in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # returned to the test, which decides
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a client did not finish"
    return results
