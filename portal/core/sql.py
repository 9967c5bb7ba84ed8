"""Portable SQL for what SQLite and PostgreSQL spell differently: time arithmetic, edit
distance, and the locks that give a state transition one outcome however often it is
submitted at once."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from rapidfuzz.distance import Levenshtein
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from portal.extensions import db

Row = TypeVar("Row")


def levenshtein(a: str | None, b: str | None) -> int | None:
    """Edit distance (insertions, deletions, substitutions, one each, counted in
    characters), as fuzzystrmatch's levenshtein() gives it on PostgreSQL; None (NULL) when
    either is. Every SQLite connection has it under that name (portal.core.database), so
    that matching's SQL runs on both databases; Python code comparing as that SQL does
    calls it directly."""
    if a is None or b is None:
        return None
    return Levenshtein.distance(a, b)


class seconds_between(FunctionElement):  # noqa: N801 (named like the SQL functions it stands for)
    """Seconds from ``earlier`` to ``later`` (two timestamp expressions), an integer: on
    PostgreSQL the floor of the difference, on SQLite the difference of the two times cut
    to the second (the same whenever ``earlier`` falls on a whole second, as a day's start
    does). SQLite keeps timestamps as text: ``strftime('%s', …)`` reads them on every
    version (``unixepoch`` needs 3.38; ``julianday`` differences are floats that miss
    whole days by a hair)."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "seconds_between"

    def __init__(self, later: Any, earlier: Any) -> None:
        super().__init__(later, earlier)


@compiles(seconds_between)
def _seconds_between_portable(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # date_part gives a double: EXTRACT's numeric result costs several times more per row.
    return f"CAST(floor(date_part('epoch', ({later}) - ({earlier}))) AS BIGINT)"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element, compiler, **kw):
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # The first 19 characters are the time to the second ('YYYY-MM-DD HH:MM:SS', as
    # SQLAlchemy stores it): strftime would round a fraction up into the next second.
    return (
        f"(CAST(strftime('%s', substr({later}, 1, 19)) AS INTEGER) - "
        f"CAST(strftime('%s', substr({earlier}, 1, 19)) AS INTEGER))"
    )


def day_index(column: Any, origin: Any) -> Any:
    """Which day after ``origin`` (0, 1, …) the timestamp ``column`` falls on, for times at
    or after the origin (integer division of non-negative seconds is the floor)."""
    return seconds_between(column, origin) // 86400


# --- one outcome per double submit (issue 15, item 2) ----------------------------------------


def locked(row: Row) -> Row:
    """``row`` read again and locked until the transaction ends: ``SELECT … FOR UPDATE`` on
    PostgreSQL (SQLite writes one transaction at a time). A state transition locks its row
    first, then checks the state it starts from: of two submits at once, the second waits
    for the first to commit and then finds the state it left. Unflushed changes to ``row``
    are dropped, so lock before changing anything."""
    db.session.refresh(row, with_for_update=True)
    return row


def serialised(scope: str, *key: object) -> None:
    """From here to the end of the transaction, transactions with the same ``scope`` and
    ``key`` run one after the other, for work that has no row of its own to lock yet (a new
    list of persons, an API key's first answer): a transaction-level advisory lock on
    PostgreSQL, released at commit or rollback; SQLite writes one transaction at a time."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    digest = hashlib.sha256(repr((scope, *key)).encode()).digest()
    connection.execute(
        sa.select(sa.func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
    )


Statement = TypeVar("Statement")


class StatementCache:
    """Statements kept built, by a key that names everything they were built from (plain
    values: an area's id, a filter's text).

    The pages every request reads (the record list, its filter choices) run statements
    that SQLite answers in hundredths of a millisecond, while building the statement again
    and working out its cache key (SQLAlchemy's, to find its compiled SQL) costs ten times
    that. A statement kept here is built once and its cache key remembered with it. The
    bound values are the key's: never put in a statement anything the key does not name.
    Shared by the threads of a process; the least recently used go beyond ``size``."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Statement]) -> Statement:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        statement = build()
        with self._lock:
            self._items[key] = statement
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return statement
