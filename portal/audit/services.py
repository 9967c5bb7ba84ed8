"""The audit trail: every change is appended here, in the same transaction as the change."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import make_transient_to_detached

from portal.audit.models import AuditEvent, AuditHead
from portal.core.clock import utcnow
from portal.extensions import db

GENESIS = "0" * 64
HEAD_ID = 1


def jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``{field: [old, new]}`` for the fields whose value changed."""
    return {
        key: [jsonable(before.get(key)), jsonable(after.get(key))]
        for key in after
        if jsonable(before.get(key)) != jsonable(after.get(key))
    }


def canonical(event: AuditEvent) -> str:
    content = {
        "seq": event.seq,
        "occurred_at": event.occurred_at.isoformat(timespec="microseconds"),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "actor_area": event.actor_area,
        "client_addr": event.client_addr,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "changes": event.changes,
        "reason": event.reason,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical(event)}".encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    """One event to append, before the chain gives it its place (``record_all``)."""

    action: str
    entity_type: str
    entity_id: Any = None
    changes: Mapping[str, Any] | None = None
    reason: str | None = None


def record(
    action: str,
    entity_type: str,
    entity_id: Any = None,
    changes: Mapping[str, Any] | None = None,
    reason: str | None = None,
    actor: Any = None,
) -> AuditEvent:
    """Append one event. The caller's transaction commits it together with the change."""
    return record_all([Entry(action, entity_type, entity_id, changes, reason)], actor)[0]


# The three statements of an append, built once, on Core tables: the ORM's unit of work
# cost more than the statements (the events are only ever inserted). The head row is taken
# by an update that leaves it as it is (a row lock on PostgreSQL, the write lock on
# SQLite), and moved once the events exist: the database lets it move only forward, to an
# appended event (migration 0026).
_head = cast(sa.Table, AuditHead.__table__)
_events = cast(sa.Table, AuditEvent.__table__)
TAKE_HEAD = (
    sa.update(_head)
    .where(_head.c.id == HEAD_ID)
    .values(seq=_head.c.seq)
    .returning(_head.c.seq, _head.c.hash)
)
APPEND_EVENTS = sa.insert(_events).returning(_events.c.id, sort_by_parameter_order=True)
MOVE_HEAD = (
    sa.update(_head)
    .where(_head.c.id == HEAD_ID)
    .values(seq=sa.bindparam("new_seq"), hash=sa.bindparam("new_hash"))
)


def record_all(entries: Sequence[Entry], actor: Any = None) -> list[AuditEvent]:
    """Append several events of one change, in order, under a single move of the chain's
    head: three statements whatever their number (one event each would cost three)."""
    if not entries:
        return []
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    # Taking the head row first serialises concurrent appenders, so two transactions can
    # never fork the chain. (Executing through the session flushes the caller's pending
    # changes first.)
    last, prev_hash = db.session.execute(TAKE_HEAD).one()
    common = {
        "occurred_at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_name": getattr(actor, "username", None),
        "actor_role": jsonable(getattr(actor, "role", None)),
        "actor_area": actor.area.code
        if actor is not None and getattr(actor, "area", None)
        else None,
        "client_addr": request.remote_addr if has_request_context() else None,
    }
    rows = []
    events = []
    for seq, entry in enumerate(entries, last + 1):
        row = {
            **common,
            "seq": seq,
            "action": entry.action,
            "entity_type": entry.entity_type,
            "entity_id": None if entry.entity_id is None else str(entry.entity_id),
            "changes": jsonable(dict(entry.changes or {})),
            "reason": entry.reason,
            "prev_hash": prev_hash,
        }
        event = AuditEvent(**row)
        row["hash"] = event.hash = prev_hash = chain_hash(prev_hash, event)
        rows.append(row)
        events.append(event)
    ids = db.session.execute(APPEND_EVENTS, rows).scalars().all()
    for event, event_id in zip(events, ids, strict=True):
        # Returned as if the session had inserted them: persistent, in its identity map.
        event.id = event_id
        make_transient_to_detached(event)
        db.session.add(event)
    db.session.execute(MOVE_HEAD, {"new_seq": events[-1].seq, "new_hash": prev_hash})
    return events


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str | None = None
    # The head the walk went up to: (sequence number, hash).
    head: tuple[int, str] | None = None


def verify_chain(
    batch: int = 5000, anchors: Mapping[int, str] | None = None, since: int | None = None
) -> ChainReport:
    """Walk the chain in order, up to its head; report the first link that does not hold.

    ``anchors`` are hashes known from outside the database (signed checkpoints,
    ``portal.signing.checkpoints``), by sequence number: the event there must have that
    hash, so history up to it cannot be rewritten or cut, even re-chained consistently.
    ``since`` starts the walk at that anchor instead of the first event (the part of the
    chain a checkpoint does not cover yet)."""
    anchors = anchors or {}
    # The head first, and the walk up to it: events that others append meanwhile are
    # committed with a head beyond it, and do not make a live chain look cut.
    head = db.session.execute(
        sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).one_or_none()
    expected_seq = since or 1
    expected_prev: str | None = None if since else GENESIS
    checked = 0
    query = sa.select(AuditEvent).order_by(AuditEvent.seq)
    if since:
        query = query.where(AuditEvent.seq >= since)
    if head is not None:
        query = query.where(AuditEvent.seq <= head.seq)
    # Closed on the way out: a broken link returns early, and PostgreSQL's server-side
    # cursor (yield_per) must not outlive the walk.
    with db.session.scalars(query.execution_options(yield_per=batch)) as rows:
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, "missing")
            if expected_prev is not None and event.prev_hash != expected_prev:
                return ChainReport(False, checked, event.seq, "prev_hash")
            if chain_hash(event.prev_hash, event) != event.hash:
                return ChainReport(False, checked, event.seq, "altered")
            if anchors.get(event.seq, event.hash) != event.hash:
                return ChainReport(False, checked, event.seq, "checkpoint")
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
    last = expected_seq - 1
    if (
        head is None
        or head.seq != last
        or (expected_prev is not None and head.hash != expected_prev)
    ):
        return ChainReport(False, checked, last + 1, "truncated")
    beyond = [seq for seq in anchors if seq > last]
    if beyond:
        # Removed from the end, and the head set back to match: a checkpoint saw more.
        return ChainReport(False, checked, min(beyond), "short")
    return ChainReport(True, checked, head=(head.seq, head.hash))


def history(entity_type: str, entity_id: Any, limit: int = 200) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.seq.desc())
            .limit(limit)
        )
    )
