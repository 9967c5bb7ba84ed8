"""How long the portal waits for its database, and what it answers when it cannot wait
longer (issue 15, items 1 and 4).

- On SQLite a transaction that writes takes the write lock when it begins (``BEGIN
  IMMEDIATE``): a deferred one that read, saw another writer commit and then tried to write
  would fail at once ("database is locked"), whatever the busy timeout. Requests that only
  read (GET, HEAD, OPTIONS) stay deferred, so that readers run beside the writer (WAL).
- On PostgreSQL connecting, each statement and each lock wait have their limits; jobs
  and commands (the worker, the CLI, migrations) are not held to the requests' statement
  and lock limits: an import or a matching run may rightly run long statements.
- What cannot be had within those limits (SQLite's lock, a PostgreSQL lock or statement
  timeout, a database that refuses or does not answer, no free connection in the pool) is
  "busy, try again": a 503 with Retry-After (portal/core/web.py), never a 500.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import sqlalchemy as sa
import sqlalchemy.orm
from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event

from portal.core.sql import levenshtein

View = TypeVar("View", bound=Callable[..., Any])

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Execution option of a connection that only reads, even outside a request (/healthz).
READ_ONLY = "portal_read_only"
# The Retry-After of the busy answer, in seconds.
RETRY_AFTER_SECONDS = 5
# A pooled PostgreSQL connection that waited this long is asked whether the server still
# answers before it is used (``ping_after_idle``).
PING_AFTER_IDLE_SECONDS = 10.0
# SQLite's errors that mean "not now" rather than a fault of the portal.
_SQLITE_BUSY = (
    "database is locked",
    "database table is locked",
    "database is busy",
    "unable to open database file",
)


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """``SQLALCHEMY_ENGINE_OPTIONS`` with the configured waits (seconds)."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    url = config["SQLALCHEMY_DATABASE_URI"]
    if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
        # (an in-memory SQLite database has a single connection and no pool to wait for)
        options["pool_timeout"] = config["DATABASE_POOL_TIMEOUT"]
    connect_args = dict(options.get("connect_args") or {})
    if url.startswith("sqlite"):
        # sqlite3's busy timeout: how long BEGIN IMMEDIATE waits for another writer.
        connect_args["timeout"] = config["DATABASE_LOCK_TIMEOUT"]
    elif url.startswith("postgresql"):
        # libpq counts whole seconds, at least 2.
        connect_args["connect_timeout"] = max(2, round(config["DATABASE_CONNECT_TIMEOUT"]))
        connect_args["options"] = " ".join(
            filter(
                None,
                (
                    connect_args.get("options"),
                    f"-c statement_timeout={_milliseconds(config['DATABASE_STATEMENT_TIMEOUT'])}",
                    f"-c lock_timeout={_milliseconds(config['DATABASE_LOCK_TIMEOUT'])}",
                ),
            )
        )
    options["connect_args"] = connect_args
    return options


def _milliseconds(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _background() -> bool:
    """Whether the transaction is a job's or a command's rather than a request's."""
    return not has_request_context()


def writes(view: View) -> View:
    """Marks a view answering GET that writes nevertheless (an export records its audit
    event): on SQLite its transactions take the write lock when they begin, as a POST's
    do, instead of failing if another writer commits between their read and their write."""
    view.portal_writes = True  # type: ignore[attr-defined]
    return view


_reading: ContextVar[bool] = ContextVar("portal_reading", default=False)


@contextmanager
def reading() -> Iterator[None]:
    """A command (or job) that only reads, and may read long (``audit verify``): on SQLite
    its transactions stay deferred, so that it does not hold the write lock meanwhile."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def begin_statement(connection: sa.Connection) -> str:
    """SQLite's BEGIN for a transaction of ``connection``: IMMEDIATE for one that may
    write (a request that is not a read or whose view ``writes``, a job, a command), else
    deferred."""
    if connection.get_execution_options().get(READ_ONLY) or _reading.get():
        return "BEGIN"
    if _background() or request.method not in READ_METHODS:
        return "BEGIN IMMEDIATE"
    view = current_app.view_functions.get(request.endpoint or "")
    return "BEGIN IMMEDIATE" if getattr(view, "portal_writes", False) else "BEGIN"


def configure(engine: sa.Engine, config: dict[str, Any]) -> None:
    """The begin of every transaction on ``engine``, by database; on SQLite, the functions
    that PostgreSQL has and the portal's SQL calls."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect_sqlite(dbapi_connection, _record):
            # PostgreSQL's fuzzystrmatch levenshtein(), which matching's SQL calls.
            dbapi_connection.create_function("levenshtein", 2, levenshtein, deterministic=True)

        @event.listens_for(engine, "begin")
        def _on_begin_sqlite(connection):
            connection.exec_driver_sql(begin_statement(connection))

    elif engine.dialect.name == "postgresql":
        worker = str(_milliseconds(config["DATABASE_WORKER_STATEMENT_TIMEOUT"]))
        ping_after_idle(engine)

        @event.listens_for(engine, "begin")
        def _on_begin_postgresql(connection):
            if _background():
                # The connection's limits are the requests'; a job's or a command's
                # transaction has the workers' (0: none), for its statements and locks.
                connection.exec_driver_sql(
                    "SELECT set_config('statement_timeout', %(ms)s, true), "
                    "set_config('lock_timeout', %(ms)s, true)",
                    {"ms": worker},
                )


def ping_after_idle(engine: sa.Engine) -> None:
    """Before a pooled connection is used, ``SELECT 1`` on it if it has waited in the pool
    for ``PING_AFTER_IDLE_SECONDS`` (a server restarted meanwhile has dropped it): a dead
    one is replaced there and then, and the request never sees it. A connection in constant
    use is not asked: SQLAlchemy's ``pool_pre_ping`` asked before every checkout, a round
    trip on every request. (SQLite's connections are files: nothing to ask.)"""

    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["portal_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        since = record.info.pop("portal_idle_since", None)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return  # new, or in use a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            if engine.dialect.is_disconnect(error, dbapi_connection, None):
                alive = False
            else:
                raise
        if not alive:
            # The pool discards this connection and checks out another (a new one).
            raise sa.exc.DisconnectionError("the database dropped this connection")


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot serve now (busy, locked, timed out,
    refusing or not answering) rather than that the portal asked something wrong."""
    if isinstance(error, sa.exc.TimeoutError):  # no free connection in the pool
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    module = type(error.orig).__module__ if error.orig is not None else ""
    if module.startswith("sqlite3"):
        message = str(error.orig).lower()
        return any(text in message for text in _SQLITE_BUSY)
    # psycopg's OperationalError: connection failures, query canceled (statement_timeout),
    # lock not available (lock_timeout), deadlocks and serialization failures.
    return True


def answers_within(app: Flask, seconds: float) -> bool:
    """Whether the database answers ``SELECT 1`` within ``seconds``. The query runs in a
    thread of its own: a database that accepts connections and never replies would hold
    the caller for the whole connect timeout. One check at a time per app: while an earlier
    one still waits, the database is not answering."""
    state = app.extensions.setdefault("portal_database_check", {"lock": threading.Lock()})
    with app.app_context():
        bind = app.extensions["sqlalchemy"].engine  # (the test suite's: one connection)
    with state["lock"]:
        waiting = state.get("thread")
        if waiting is not None and waiting.is_alive():
            return False
        result: dict[str, bool] = {}

        def check() -> None:
            try:
                with sa.orm.Session(bind) as session:
                    session.connection(execution_options={READ_ONLY: True})
                    session.execute(sa.text("SELECT 1"))
                result["ok"] = True
            except Exception:  # any failure is "not answering"
                result["ok"] = False

        thread = threading.Thread(target=check, name="database-check", daemon=True)
        state["thread"] = thread
        thread.start()
    thread.join(seconds)
    return result.get("ok", False)
