"""The database waits of portal/core/database.py (issue 15, items 1 and 4): which BEGIN a
SQLite transaction takes, the engine's limits from configuration, and on PostgreSQL the
requests' statement limit that jobs and commands (migrations among them) do not have."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from portal import create_app
from portal.core import database
from portal.extensions import db
from tests.live import TEST_CONFIG, live_config, suite_kind

pytestmark = pytest.mark.committing

LIMITS = {
    "DATABASE_CONNECT_TIMEOUT": 3,
    "DATABASE_STATEMENT_TIMEOUT": 7,
    "DATABASE_WORKER_STATEMENT_TIMEOUT": 0,
    "DATABASE_LOCK_TIMEOUT": 1.5,
    "DATABASE_POOL_TIMEOUT": 4,
}


def test_the_engine_options_come_from_the_configuration():
    sqlite = database.engine_options({**LIMITS, "SQLALCHEMY_DATABASE_URI": "sqlite:////x.db"})
    assert sqlite["connect_args"] == {"timeout": 1.5}
    # No ping before each checkout: on PostgreSQL ``ping_after_idle`` asks a connection that
    # waited (test below); a SQLite file has nothing to ask.
    assert sqlite["pool_timeout"] == 4 and "pool_pre_ping" not in sqlite
    postgres = database.engine_options(
        {**LIMITS, "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@h/d"}
    )
    assert postgres["connect_args"] == {
        "connect_timeout": 3,
        "options": "-c statement_timeout=7000 -c lock_timeout=1500",
    }
    assert postgres["pool_timeout"] == 4 and "pool_pre_ping" not in postgres


def test_the_timeouts_are_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_LOCK_TIMEOUT", "2")
    monkeypatch.setenv("DATABASE_STATEMENT_TIMEOUT", "9")
    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "env.sqlite3")}
    )
    assert app.config["DATABASE_LOCK_TIMEOUT"] == 2
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"] == {"timeout": 2}


class _Connection:
    def __init__(self, **options) -> None:
        self.options = options

    def get_execution_options(self) -> dict:
        return self.options


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/records", "BEGIN"),
        ("HEAD", "/records", "BEGIN"),
        ("POST", "/records/1/correct/phone", "BEGIN IMMEDIATE"),
        ("POST", "/login", "BEGIN IMMEDIATE"),
        ("GET", "/records/export.csv", "BEGIN IMMEDIATE"),  # a GET that writes its audit event
    ],
)
def test_sqlite_writers_take_the_lock_when_they_begin(tmp_path, method, path, expected):
    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp_path / "begin.sqlite3")}
    )
    with app.test_request_context(path, method=method):
        from flask import request

        # The URL's view is matched when the request is dispatched; here by hand.
        request.url_rule, request.view_args = app.url_map.bind("localhost").match(
            path, method=method, return_rule=True
        )
        assert database.begin_statement(_Connection()) == expected
        assert database.begin_statement(_Connection(portal_read_only=True)) == "BEGIN"
    with app.app_context():  # a job, a command
        assert database.begin_statement(_Connection()) == "BEGIN IMMEDIATE"
        with database.reading():  # one that only reads (audit verify)
            assert database.begin_statement(_Connection()) == "BEGIN"
        assert database.begin_statement(_Connection()) == "BEGIN IMMEDIATE"


@pytest.mark.skipif(suite_kind() != "postgresql", reason="PostgreSQL's limits")
def test_jobs_and_commands_are_not_held_to_the_requests_statement_limit(tmp_path):
    with live_config(tmp_path, "postgresql") as config:
        app = create_app(
            {
                **TEST_CONFIG,
                **config,
                "DATABASE_STATEMENT_TIMEOUT": 0.3,
                "DATABASE_LOCK_TIMEOUT": 0.2,
            }
        )
        try:
            with app.test_request_context("/records"):
                assert db.session.scalar(sa.text("SHOW statement_timeout")) == "300ms"
                assert db.session.scalar(sa.text("SHOW lock_timeout")) == "200ms"
                with pytest.raises(sa.exc.OperationalError) as cancelled:
                    db.session.execute(sa.text("SELECT pg_sleep(1)"))
                assert database.is_unavailable(cancelled.value)
                db.session.rollback()
            with app.app_context():  # the worker, a command, a migration
                assert db.session.scalar(sa.text("SHOW statement_timeout")) == "0"
                assert db.session.scalar(sa.text("SHOW lock_timeout")) == "0"
                db.session.execute(sa.text("SELECT pg_sleep(0.5)"))
                db.session.rollback()
        finally:
            with app.app_context():
                db.engine.dispose()


def test_only_unavailability_is_busy():
    import sqlite3

    locked = sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))
    missing = sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert database.is_unavailable(locked)
    assert not database.is_unavailable(missing)  # a fault of the portal: still a 500
    assert database.is_unavailable(sa.exc.TimeoutError("QueuePool limit"))
    assert not database.is_unavailable(ValueError("x"))


@pytest.mark.skipif(suite_kind() != "sqlite", reason="SQLite's write lock")
def test_audit_verify_reads_beside_a_writer_on_sqlite(tmp_path):
    """``audit verify`` (cron) only reads: it neither waits for the write lock nor holds it
    while it reads a long trail."""
    import sqlite3

    from tests.live import migrated_app

    with live_config(tmp_path, "sqlite") as config:
        app = migrated_app(
            {
                **config,
                "DATABASE_LOCK_TIMEOUT": 0.2,
                "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
                "SIGNING_DEMO_PKI_DIR": str(tmp_path / "pki"),
            }
        )
        holder = sqlite3.connect(
            config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :], isolation_level=None
        )
        holder.execute("BEGIN IMMEDIATE")
        try:
            with app.app_context():
                result = app.test_cli_runner().invoke(args=["audit", "verify"])
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert result.exit_code == 0, result.output
        with app.app_context():
            db.engine.dispose()


@pytest.mark.skipif(suite_kind() != "postgresql", reason="a server that drops connections")
def test_a_connection_dropped_while_idle_is_replaced_before_use(monkeypatch):
    """A database restarted while the pool held its connections (here: their server
    processes ended) costs no request anything: a connection that waited is asked first
    and replaced. One in constant use is not asked (that was a round trip a request)."""
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, pool_size=1, max_overflow=0)
    other = sa.create_engine(url, poolclass=sa.pool.NullPool)
    database.ping_after_idle(engine)
    pings = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(
        engine.dialect, "do_ping", lambda connection: pings.append(1) or ping(connection)
    )
    backend = "SELECT pg_backend_pid()"
    try:
        with engine.connect() as connection:
            first = connection.execute(sa.text(backend)).scalar()
        with engine.connect() as connection:  # used again at once: not asked
            assert connection.execute(sa.text(backend)).scalar() == first
        assert pings == []

        with other.connect() as connection:  # the server drops the pooled connection
            assert connection.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": first}
            ).scalar()
        monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)
        with engine.connect() as connection:
            assert connection.execute(sa.text(backend)).scalar() != first
        assert pings == [1]
    finally:
        engine.dispose()
        other.dispose()
