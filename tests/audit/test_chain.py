"""The audit trail's hash chain: intact, tampered in every way, and guarded by the database.

Within a test the chain holds the session's setup events (areas.load) and this test's
own; everything is rolled back at the end, the tampering included. Tampering lifts the
triggers, which only the tables' owner can: those tests run as the owner (``as_owner``).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit import services as audit
from portal.audit.models import AuditEvent, AuditHead
from portal.extensions import db
from tests.audit.conftest import dialect, max_seq, record_events, sql, tamper, vi
from tests.conftest import login

TRIGGERS = {
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
    "postgresql": {"audit_event_append_only", "audit_event_no_truncate"},
}
HEAD_TRIGGERS = {
    "sqlite": {"audit_head_forward_only", "audit_head_no_delete"},
    "postgresql": {"audit_head_forward_only", "audit_head_no_truncate"},
}


# --- intact -----------------------------------------------------------------------------


def test_setup_chain_is_intact():
    report = audit.verify_chain()
    assert report.ok, report
    assert report.checked >= 1  # areas.load at least
    head = db.session.get(AuditHead, 1)
    assert head.seq == report.checked == max_seq()


def test_chain_intact_after_services_and_logins(client, make_user, cli):
    before = audit.verify_chain()
    assert before.ok
    user = make_user()
    events = record_events(3)
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 3))
    assert events[1].prev_hash == events[0].hash
    assert login(client, user.username, "sai mật khẩu").status_code == 401
    assert login(client, user.username).status_code == 303
    db.session.expire_all()
    actions = list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.seq > before.checked)
            .order_by(AuditEvent.seq)
        )
    )
    assert actions == [
        "user.create",
        "test.event",
        "test.event",
        "test.event",
        "auth.login_failed",
        "auth.login",
    ]

    report = audit.verify_chain()
    assert report.ok, report
    assert report.checked == before.checked + 6

    result = cli()
    assert result.exit_code == 0, result.output
    assert vi("Audit chain intact: %(n)d events checked.", n=report.checked) in result.output


def test_events_appended_together_take_consecutive_links(cli):
    """record_all moves the head once for several events; the chain is the same as if they
    had been recorded one by one, and an event recorded after them links to the last."""
    before = audit.verify_chain()
    together = audit.record_all(
        [
            audit.Entry("test.first", "thing", 1, {"value": [None, 1]}),
            audit.Entry("test.second", "thing", 1, {"value": [1, 2]}, reason="lý do"),
            audit.Entry("test.third", "thing", 2),
        ]
    )
    assert audit.record_all([]) == []
    after = audit.record("test.after", "thing", 3)
    db.session.commit()
    assert [e.seq for e in together] == [before.checked + 1, before.checked + 2, before.checked + 3]
    assert together[0].prev_hash == db.session.scalar(
        sa.select(AuditEvent.hash).where(AuditEvent.seq == before.checked)
    )
    assert [e.prev_hash for e in together[1:]] == [e.hash for e in together[:-1]]
    assert after.seq == before.checked + 4 and after.prev_hash == together[-1].hash
    head = db.session.get(AuditHead, 1)
    assert (head.seq, head.hash) == (after.seq, after.hash)
    report = audit.verify_chain()
    assert report.ok, report
    assert report.checked == before.checked + 4
    assert cli().exit_code == 0


def test_verify_in_small_batches():
    record_events(7)
    report = audit.verify_chain(batch=2)
    assert report.ok, report
    assert report.checked == max_seq()


# --- tampered ---------------------------------------------------------------------------


def _assert_broken(cli, seq: int, problem: str) -> None:
    report = audit.verify_chain()
    assert not report.ok
    assert (report.broken_seq, report.problem) == (seq, problem)
    result = cli()
    assert result.exit_code == 1, result.output
    assert f"#{seq}:" in result.output
    assert f"#{seq + 1}:" not in result.output


@pytest.mark.as_owner
def test_altered_event(unguarded, cli):
    events = record_events()
    target = events[2].seq
    tamper(("UPDATE audit_event SET reason = :r WHERE seq = :s", {"r": "giả mạo", "s": target}))
    assert db.session.scalar(sa.select(AuditEvent.reason).where(AuditEvent.seq == target)) == (
        "giả mạo"
    )
    _assert_broken(cli, target, "altered")


@pytest.mark.as_owner
def test_altered_changes(unguarded, cli):
    events = record_events()
    target = events[1].seq
    tamper(("UPDATE audit_event SET actor_name = :n WHERE seq = :s", {"n": "ke_gian", "s": target}))
    _assert_broken(cli, target, "altered")


@pytest.mark.as_owner
def test_altered_event_with_its_hash_recomputed(unguarded, cli):
    """Re-hashing the forged event does not help: the next link no longer matches."""
    events = record_events()
    forged = events[1]
    seq = forged.seq
    prev_hash = forged.prev_hash
    tamper(("UPDATE audit_event SET reason = :r WHERE seq = :s", {"r": "giả mạo", "s": seq}))
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == seq))
    new_hash = audit.chain_hash(prev_hash, event)
    tamper(("UPDATE audit_event SET hash = :h WHERE seq = :s", {"h": new_hash, "s": seq}))
    _assert_broken(cli, seq + 1, "prev_hash")


@pytest.mark.as_owner
def test_deleted_event(unguarded, cli):
    events = record_events()
    target = events[2].seq
    tamper(("DELETE FROM audit_event WHERE seq = :s", {"s": target}))
    _assert_broken(cli, target, "missing")


@pytest.mark.as_owner
def test_reordered_events(unguarded, cli):
    events = record_events()
    first, second = events[1].seq, events[3].seq
    tamper(
        ("UPDATE audit_event SET seq = :tmp WHERE seq = :s", {"tmp": -1, "s": first}),
        ("UPDATE audit_event SET seq = :new WHERE seq = :s", {"new": first, "s": second}),
        ("UPDATE audit_event SET seq = :new WHERE seq = :tmp", {"new": second, "tmp": -1}),
    )
    moved = db.session.scalar(sa.select(AuditEvent.entity_id).where(AuditEvent.seq == first))
    assert moved == events[3].entity_id
    _assert_broken(cli, first, "prev_hash")


@pytest.mark.as_owner
def test_adjacent_events_swapped(unguarded, cli):
    events = record_events()
    first, second = events[2].seq, events[3].seq
    tamper(
        ("UPDATE audit_event SET seq = :tmp WHERE seq = :s", {"tmp": -1, "s": first}),
        ("UPDATE audit_event SET seq = :new WHERE seq = :s", {"new": first, "s": second}),
        ("UPDATE audit_event SET seq = :new WHERE seq = :tmp", {"new": second, "tmp": -1}),
    )
    _assert_broken(cli, first, "prev_hash")


@pytest.mark.as_owner
def test_removed_from_the_end(unguarded, cli):
    events = record_events()
    last = events[-1].seq
    assert last == max_seq()
    tamper(("DELETE FROM audit_event WHERE seq = :s", {"s": last}))
    _assert_broken(cli, last, "truncated")


@pytest.mark.as_owner
def test_several_removed_from_the_end(unguarded, cli):
    events = record_events()
    cut = events[2].seq
    tamper(("DELETE FROM audit_event WHERE seq >= :s", {"s": cut}))
    _assert_broken(cli, cut, "truncated")


@pytest.mark.as_owner
def test_cli_message_is_vietnamese(unguarded, cli):
    events = record_events()
    target = events[0].seq
    tamper(("UPDATE audit_event SET reason = NULL WHERE seq = :s", {"s": target}))
    output = cli().output
    problem = vi("the event's content was altered")
    assert problem != "the event's content was altered"
    assert (
        vi(
            "Audit chain BROKEN at event #%(seq)d: %(problem)s (%(n)d events intact before it).",
            seq=target,
            problem=problem,
            n=target - 1,
        )
        in output
    )


# --- guarded by the database ------------------------------------------------------------
# The triggers refuse even the tables' owner, so these run as the owner: the application's
# role is refused before them, for want of the privilege (test_roles.py).


def _refuses(statement: str, **params) -> None:
    with pytest.raises(sa.exc.DBAPIError) as error:
        with db.session.begin_nested():
            sql(statement, **params)
    assert "append-only" in str(error.value)


@pytest.mark.as_owner
def test_database_refuses_update_and_delete():
    events = record_events(2)
    seq = events[0].seq
    _refuses("UPDATE audit_event SET reason = 'x' WHERE seq = :s", s=seq)
    _refuses("UPDATE audit_event SET seq = seq + 1000")
    _refuses("DELETE FROM audit_event WHERE seq = :s", s=seq)
    _refuses("DELETE FROM audit_event")
    if dialect() == "postgresql":
        _refuses("TRUNCATE audit_event CASCADE")
    # The failed statements left the transaction usable and the chain untouched.
    db.session.expire_all()
    assert db.session.scalar(sa.select(AuditEvent.reason).where(AuditEvent.seq == seq)) == (
        "lý do 0"
    )
    assert audit.verify_chain().ok


def test_orm_flush_of_a_changed_event_is_refused():
    event = record_events(1)[0]
    with pytest.raises(sa.exc.DBAPIError):
        with db.session.begin_nested():
            event.reason = "sửa lén"
            db.session.flush()
    db.session.expire_all()
    assert audit.verify_chain().ok


@pytest.mark.as_owner
def test_triggers_survive_tampering():
    """Runs after the tampering tests: their rollback must have restored the guard."""
    for table, expected in (("audit_event", TRIGGERS), ("audit_head", HEAD_TRIGGERS)):
        if dialect() == "postgresql":
            rows = db.session.execute(
                sa.text(
                    "SELECT tgname, tgenabled FROM pg_trigger "
                    "WHERE tgrelid = CAST(:t AS regclass) AND NOT tgisinternal"
                ),
                {"t": table},
            ).all()
            assert {name for name, _ in rows} == expected["postgresql"]
            assert all(enabled == "O" for _, enabled in rows), rows
        else:
            found = set(
                db.session.scalars(
                    sa.text(
                        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"
                    ),
                    {"t": table},
                )
            )
            assert found == expected["sqlite"]
    test_database_refuses_update_and_delete()
