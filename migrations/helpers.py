"""What several migrations share (imported as ``migrations.helpers``; env.py puts the
project's folder on the path).

- ``run_sql_file``: the counters' triggers live in one SQL file per database
  (``migrations/sql/counters.<dialect>.sql``); a migration loads the file of its database.
- ``triggers_kept``: SQLite drops a table's triggers with the table, and a batch migration
  rebuilds the table to alter it; around a rebuild, this puts the triggers back.
- ``create_index`` / ``drop_index``: an index on a big table is built ``CONCURRENTLY`` on
  PostgreSQL, so that the table keeps taking writes while it is built.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import op

SQL_DIR = Path(__file__).parent / "sql"

# Tables large enough (millions of rows) that a plain CREATE INDEX, which blocks writes
# until it is done, would stop the portal: their new indexes are built CONCURRENTLY.
BIG_TABLES = frozenset({"person", "dose", "match_result", "register_entry", "audit_event"})

_TRIGGER = re.compile(r"^\s*CREATE\s+TRIGGER\s+(\w+)", re.IGNORECASE | re.MULTILINE)


def sql_path(name: str, dialect: str) -> Path:
    return SQL_DIR / f"{name}.{dialect}.sql"


def statements(text: str, dialect: str) -> list[str]:
    """The statements of an SQL file, in order. A statement ends with a line ending in
    ``;`` where the statement is complete: outside a ``BEGIN … END`` trigger body on
    SQLite (``sqlite3.complete_statement``), outside a ``$$`` body on PostgreSQL. Comment
    lines between statements are left out."""
    found: list[str] = []
    lines: list[str] = []
    for line in text.splitlines():
        if not lines and (not line.strip() or line.lstrip().startswith("--")):
            continue
        lines.append(line)
        if not line.rstrip().endswith(";"):
            continue
        statement = "\n".join(lines)
        if dialect == "sqlite":
            complete = sqlite3.complete_statement(statement)
        else:
            complete = statement.count("$$") % 2 == 0
        if complete:
            found.append(statement)
            lines = []
    if lines:
        raise ValueError(f"unfinished statement at the end of the file: {lines[0]!r}")
    return found


def defined_triggers(name: str, dialect: str) -> set[str]:
    """The names of the triggers that ``name``'s file creates on ``dialect``."""
    return set(_TRIGGER.findall(sql_path(name, dialect).read_text(encoding="utf-8")))


def run_sql_file(name: str) -> None:
    """Run ``migrations/sql/<name>.<dialect>.sql`` in the migration's transaction."""
    bind = op.get_bind()
    text = sql_path(name, bind.dialect.name).read_text(encoding="utf-8")
    for statement in statements(text, bind.dialect.name):
        # Straight to the driver: the bodies are not SQLAlchemy text (no bind parameters).
        bind.exec_driver_sql(statement)


@contextmanager
def triggers_kept(*tables: str) -> Iterator[None]:
    """Around a batch migration that rebuilds ``tables`` on SQLite: the tables' triggers
    are dropped before (a trigger that names a table being renamed would fail the rename)
    and created again after, from their own SQL. Nothing on PostgreSQL, which alters a
    table in place."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    marks = ", ".join("?" for _ in tables)
    saved = bind.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ({marks})",
        tuple(tables),
    ).all()
    for name, _sql in saved:
        bind.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _name, sql in saved:
        bind.exec_driver_sql(sql)


def create_index(name: str, table: str, columns: Sequence[Any], **kw: Any) -> None:
    """``op.create_index``; on PostgreSQL, for a table in BIG_TABLES, built CONCURRENTLY
    (outside the migration's transaction, which CONCURRENTLY requires: the migrations
    before it in the same run are committed first). A concurrent build that fails leaves
    an INVALID index behind: ``IF NOT EXISTS`` would keep it, so it is dropped first."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or table not in BIG_TABLES:
        op.create_index(name, table, columns, **kw)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
        op.create_index(name, table, columns, postgresql_concurrently=True, **kw)


def drop_index(name: str, table: str) -> None:
    """``op.drop_index``; on PostgreSQL, for a table in BIG_TABLES, dropped CONCURRENTLY."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or table not in BIG_TABLES:
        op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        op.drop_index(name, table_name=table, postgresql_concurrently=True)
