"""The audit tests' helpers: events to record, history to tamper with, the verify command.

Tampering lifts the triggers, which only the tables' owner can: a test that uses
``unguarded`` is marked ``as_owner`` (its transaction is the owner's when the suite runs
with two roles, tests/conftest.py).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.extensions import db


def dialect() -> str:
    return db.session.get_bind().dialect.name


def record_events(n: int = 5) -> list[AuditEvent]:
    events = [
        audit.record("test.event", "thing", i, {"value": [i, i + 1]}, reason=f"lý do {i}")
        for i in range(n)
    ]
    db.session.commit()
    return events


def sql(statement: str, **params) -> None:
    db.session.execute(sa.text(statement), params)


def tamper(*statements: tuple[str, dict]) -> None:
    """Change history behind the application's back, then forget what the session knew
    (as a fresh ``flask audit verify`` process would)."""
    for statement, params in statements:
        sql(statement, **params)
    db.session.flush()
    db.session.expire_all()


def event_hash(seq: int) -> str:
    return db.session.scalar(sa.select(AuditEvent.hash).where(AuditEvent.seq == seq))


def max_seq() -> int:
    return db.session.scalar(sa.select(sa.func.max(AuditEvent.seq)))


@pytest.fixture
def unguarded():
    """Lift the append-only triggers inside the test's own transaction (the owner's: mark
    the test ``as_owner``)."""
    if dialect() == "postgresql":
        sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
        sql("ALTER TABLE audit_head DISABLE TRIGGER audit_head_forward_only")
        yield
        sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
        sql("ALTER TABLE audit_head ENABLE TRIGGER audit_head_forward_only")
    else:
        sql("DROP TRIGGER audit_event_no_update")
        sql("DROP TRIGGER audit_event_no_delete")
        sql("DROP TRIGGER audit_head_forward_only")
        yield
        # No re-creation: the test's rollback restores them (SQLite DDL is transactional);
        # test_chain.py's test_triggers_survive_tampering checks that it does.


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def verify(*args: str):
        return runner.invoke(args=["audit", "verify", *args])

    return verify


def vi(message: str, **variables) -> str:
    with force_locale("vi"):
        return gettext(message, **variables)
