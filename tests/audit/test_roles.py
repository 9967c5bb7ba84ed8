"""Issue 14, item 4 (a): the audit trail against the application's own database login.

The application's role (DATABASE_URL) is not the tables' owner: it cannot alter a table or
disable its triggers, and it may only append to ``audit_event`` and move ``audit_head``
forward. The privilege tests need the suite's PostgreSQL run with two roles (.ci/run:
MIGRATIONS_DATABASE_URL for the owner); the head's guard is a trigger on both databases.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.audit import services as audit
from portal.audit.models import AuditHead
from portal.core.roles import RoleRefused, app_role_name, grant_app_role
from portal.extensions import db
from tests.audit.conftest import dialect, event_hash, record_events, sql
from tests.conftest import OWNER_URL

two_roles = pytest.mark.skipif(
    OWNER_URL is None,
    reason="needs PostgreSQL with two roles: DATABASE_URL (the application's) and "
    "MIGRATIONS_DATABASE_URL (the owner's), as .ci/run sets them",
)


def refused(statement: str, **params) -> str:
    with pytest.raises(sa.exc.DBAPIError) as error:
        with db.session.begin_nested():
            sql(statement, **params)
    return str(error.value)


def test_the_head_only_moves_forward_to_an_appended_event():
    events = record_events(3)
    head = db.session.get(AuditHead, 1)
    assert (head.seq, head.hash) == (events[-1].seq, events[-1].hash)
    back = events[1].seq
    assert "only moves forward" in refused(
        "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1", s=back, h=event_hash(back)
    )
    assert "only moves forward" in refused(
        "UPDATE audit_head SET seq = seq + 1, hash = :h WHERE id = 1", h="f" * 64
    )
    assert "only moves forward" in refused(
        "UPDATE audit_head SET hash = :h WHERE id = 1", h=event_hash(back)
    )
    # The trigger refuses these; the application's role lacks the privilege before it.
    for statement in (
        "DELETE FROM audit_head",
        *(("TRUNCATE audit_head",) if dialect() == "postgresql" else ()),
    ):
        message = refused(statement)
        assert "only moves forward" in message or "permission denied" in message
    db.session.expire_all()
    assert audit.verify_chain().ok
    # The portal's own appends move it, as before.
    after = audit.record("test.after", "thing", 1)
    db.session.commit()
    assert db.session.get(AuditHead, 1).seq == after.seq


@two_roles
def test_the_suite_runs_as_a_role_that_owns_nothing():
    user, owner, superuser = db.session.execute(
        sa.text(
            "SELECT current_user, tableowner, (SELECT rolsuper FROM pg_roles "
            "WHERE rolname = current_user) FROM pg_tables WHERE tablename = 'audit_event'"
        )
    ).one()
    assert user == app_role_name() and user != owner and not superuser


@two_roles
def test_the_application_role_cannot_lift_the_guard():
    """The issue's first attack, as the application's login: every step is refused."""
    events = record_events(3)
    last = events[-1].seq
    for statement in (
        "ALTER TABLE audit_event DISABLE TRIGGER USER",
        "ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only",
        "ALTER TABLE audit_head DISABLE TRIGGER USER",
        "DROP TRIGGER audit_event_append_only ON audit_event",
        "DROP TRIGGER audit_head_forward_only ON audit_head",
        "CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger "
        "AS $$ BEGIN RETURN OLD; END $$ LANGUAGE plpgsql",
    ):
        message = refused(statement)
        assert "must be owner" in message or "permission denied" in message, statement
    for statement in (
        "DELETE FROM audit_event WHERE seq = :s",
        "TRUNCATE audit_event",
        "UPDATE audit_event SET reason = 'x' WHERE seq = :s",
        "INSERT INTO audit_head (id, seq, hash) VALUES (2, 0, 'x')",
    ):
        assert "permission denied" in refused(statement, s=last), statement
    assert "permission denied" in refused(
        "CREATE FUNCTION portal_shadow() RETURNS int AS 'SELECT 1' LANGUAGE sql"
    )
    assert "only moves forward" in refused(
        "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1", s=last - 1, h=event_hash(last - 1)
    )
    db.session.expire_all()
    assert audit.verify_chain().ok


@two_roles
def test_granting_refuses_the_owner_and_unknown_roles(owner):
    with owner.connect() as connection, force_locale("en"):
        owner_role = connection.exec_driver_sql("SELECT current_user").scalar()
        with pytest.raises(RoleRefused, match="owns the tables"):
            grant_app_role(connection, owner_role)
        with pytest.raises(RoleRefused, match="does not exist"):
            grant_app_role(connection, "khong_co_vai_nay")
        connection.rollback()


@pytest.mark.committing
def test_the_grant_command(app):
    result = app.test_cli_runner().invoke(args=["db", "grant-app-role", "--lang", "en"])
    with app.app_context():
        sqlite, role = db.engine.dialect.name == "sqlite", app_role_name()
    if sqlite:
        assert result.exit_code == 0
        assert "SQLite has no database roles: nothing to grant." in result.output
    elif OWNER_URL is None:
        # One role for everything: it owns the tables, or is a superuser; refused either way.
        assert result.exit_code == 1
        assert "superuser" in result.output or "owns the tables" in result.output
    else:
        assert result.exit_code == 0, result.output
        assert f"The role {role} may read and write the rows" in result.output
