"""The two database roles of a PostgreSQL deployment (issue 14, item 4).

The owner role owns the tables, their triggers and functions: it runs the migrations
(``MIGRATIONS_DATABASE_URL``). The application's role (``DATABASE_URL``: the web server,
the worker, the commands) reads and writes rows, and may only append to the audit trail:
it owns nothing, so it can neither alter a table nor disable its triggers, and it is
granted no UPDATE, DELETE or TRUNCATE on ``audit_event`` and only the UPDATE that the
head's trigger lets move forward on ``audit_head``. SQLite has no roles: one URL does all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.engine import make_url

from portal.extensions import db

# Every other table of the schema: rows read and written by the application.
ORDINARY = "SELECT, INSERT, UPDATE, DELETE"
# Tables with less, or more, than that.
PRIVILEGES = {
    "audit_event": "SELECT, INSERT",
    # Moved forward by each append; its trigger refuses anything else (migration 0026).
    "audit_head": "SELECT, UPDATE",
    "alembic_version": "SELECT",
    # Replacing the whole register empties it first (portal.registry.extract).
    "register_entry": ORDINARY + ", TRUNCATE",
}
# nextval for new rows; setval where rows come with their ids (the demo's seed).
SEQUENCES = "USAGE, SELECT, UPDATE"


class RoleRefused(ValueError):
    """The role cannot be the application's role; the message says why."""


def migrations_url() -> str:
    """The owner's URL, which the migrations use: MIGRATIONS_DATABASE_URL, else the
    application's own (one role: SQLite, or a PostgreSQL set up without a second role)."""
    return str(
        current_app.config.get("MIGRATIONS_DATABASE_URL")
        or current_app.config["SQLALCHEMY_DATABASE_URI"]
    )


def app_role_name() -> str | None:
    return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).username


@contextmanager
def owner_engine() -> Iterator[sa.Engine]:
    """An engine on the migrations URL: the application's own when there is one URL."""
    if not current_app.config.get("MIGRATIONS_DATABASE_URL"):
        yield db.engine
        return
    engine = sa.create_engine(migrations_url(), poolclass=sa.pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def grant_app_role(connection: sa.Connection, role: str) -> list[str]:
    """Grant ``role`` what the application needs and nothing more, on every table of the
    schema as it is now (run again after a migration that adds tables; the owner's default
    privileges cover ordinary tables created meanwhile). Returns the tables granted.
    PostgreSQL only; run as the owner."""
    sql = connection.exec_driver_sql
    found = sql("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (role,)).first()
    if found is None:
        raise RoleRefused(
            _(
                "The role %(role)s does not exist (CREATE ROLE %(role)s LOGIN PASSWORD …).",
                role=role,
            )
        )
    if found[0] or found[1]:
        raise RoleRefused(
            _(
                "The role %(role)s is a superuser: nothing would stop it from "
                "rewriting the audit trail.",
                role=role,
            )
        )
    owns = sql(
        "SELECT pg_has_role(%s, tableowner, 'USAGE') FROM pg_tables "
        "WHERE schemaname = 'public' AND tablename = 'audit_event'",
        (role,),
    ).scalar()
    if owns is None:
        raise RoleRefused(_("The database has no tables yet: run flask db upgrade first."))
    if owns:
        raise RoleRefused(
            _(
                "The role %(role)s owns the tables (or is a member of their "
                "owner): it could alter them and disable the audit trail's "
                "triggers. The application needs a role of its own.",
                role=role,
            )
        )
    quoted = connection.dialect.identifier_preparer.quote(role)
    tables = list(
        sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        ).scalars()
    )
    # Nothing may be created in the schema but by the owner: a function or table of the
    # same name earlier on a search path is another way around a trigger.
    sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    sql(f"REVOKE ALL ON SCHEMA public FROM {quoted}")
    sql(f"GRANT USAGE ON SCHEMA public TO {quoted}")
    for table in tables:
        name = connection.dialect.identifier_preparer.quote(table)
        sql(f"REVOKE ALL ON TABLE {name} FROM {quoted}")
        sql(f"GRANT {PRIVILEGES.get(table, ORDINARY)} ON TABLE {name} TO {quoted}")
    sql(f"GRANT {SEQUENCES} ON ALL SEQUENCES IN SCHEMA public TO {quoted}")
    sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {ORDINARY} ON TABLES TO {quoted}")
    sql(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {SEQUENCES} ON SEQUENCES TO {quoted}")
    return tables
