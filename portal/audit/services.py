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
from portal.extensions import db
from portal.models_base import utcnow

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
# cost more than the statements (the events are only ever inserted).
_head = cast(sa.Table, AuditHead.__table__)
_events = cast(sa.Table, AuditEvent.__table__)
TAKE_HEAD = (sa.update(_head).where(_head.c.id == HEAD_ID)
             .values(seq=_head.c.seq + sa.bindparam("count"))
             .returning(_head.c.seq, _head.c.hash))
APPEND_EVENTS = sa.insert(_events).returning(_events.c.id, sort_by_parameter_order=True)
MOVE_HEAD = sa.update(_head).where(_head.c.id == HEAD_ID).values(hash=sa.bindparam("new_hash"))


def record_all(entries: Sequence[Entry], actor: Any = None) -> list[AuditEvent]:
    """Append several events of one change, in order, under a single move of the chain's
    head: three statements whatever their number (one event each would cost three)."""
    if not entries:
        return []
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    # Taking the head row first serialises concurrent appenders (a row lock on PostgreSQL,
    # the write lock on SQLite), so two transactions can never fork the chain. (Executing
    # through the session flushes the caller's pending changes first.)
    last, prev_hash = db.session.execute(TAKE_HEAD, {"count": len(entries)}).one()
    common = {
        "occurred_at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_name": getattr(actor, "username", None),
        "actor_role": jsonable(getattr(actor, "role", None)),
        "actor_area": actor.area.code
        if actor is not None and getattr(actor, "area", None) else None,
        "client_addr": request.remote_addr if has_request_context() else None,
    }
    rows = []
    events = []
    for seq, entry in enumerate(entries, last - len(entries) + 1):
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
    db.session.execute(MOVE_HEAD, {"new_hash": prev_hash})
    return events


@dataclass
class ChainReport:
    ok: bool
    checked: int
    broken_seq: int | None = None
    problem: str | None = None


def verify_chain(batch: int = 5000) -> ChainReport:
    """Walk the whole chain in order; report the first link that does not hold."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    # Closed on the way out: a broken link returns early, and PostgreSQL's server-side
    # cursor (yield_per) must not outlive the walk.
    with db.session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    ) as rows:
        for event in rows:
            if event.seq != expected_seq:
                return ChainReport(False, checked, expected_seq, "missing")
            if event.prev_hash != expected_prev:
                return ChainReport(False, checked, event.seq, "prev_hash")
            if chain_hash(expected_prev, event) != event.hash:
                return ChainReport(False, checked, event.seq, "altered")
            expected_prev = event.hash
            expected_seq += 1
            checked += 1
    head = db.session.get(AuditHead, HEAD_ID)
    if head is None or head.seq != checked or head.hash != expected_prev:
        return ChainReport(False, checked, checked + 1, "truncated")
    return ChainReport(True, checked)


def history(entity_type: str, entity_id: Any, limit: int = 200) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.seq.desc())
            .limit(limit)
        )
    )
