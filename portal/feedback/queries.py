"""The staff queue's reads: which complaints a unit's queue holds, how many, one page of
them in due order, and what a complaint's page lists beside it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.core.clock import format_time
from portal.core.ids import decode_cursor, encode_cursor
from portal.extensions import db
from portal.feedback import clock, display, permissions
from portal.feedback.clock import ClockState
from portal.feedback.models import (
    CLOSED_STATUSES,
    Attachment,
    Escalation,
    Feedback,
    FeedbackKind,
    OpenCount,
    UnitKind,
)
from portal.feedback.routing import Unit
from portal.records.models import Person
from portal.records.permissions import person_scope
from portal.records.queries import search_clause


@dataclass
class QueueFilters:
    """What the queue shows, read from its filter form (``forms.QueueFilterForm``)."""

    scope: str = "mine"
    state: str = "open"
    kind: str = ""
    q: str = ""
    after: str = ""

    def args(self) -> dict[str, str]:
        """The filters as a query string's arguments (the page links and exports keep them)."""
        return {
            k: v
            for k, v in (
                ("scope", self.scope),
                ("state", self.state),
                ("kind", self.kind),
                ("q", self.q),
            )
            if v
        }


def filter_clauses(filters: QueueFilters, now: datetime) -> list[sa.ColumnElement[bool]]:
    """The filters; an unanswered complaint is always open (answering or closing stamps
    answered_at), so the open states need no status test."""
    clauses: list[sa.ColumnElement[bool]] = []
    if filters.state == "open":
        clauses.append(Feedback.answered_at.is_(None))
    elif filters.state in ("at_risk", "overdue"):
        clauses.append(clock.state_clause(ClockState(filters.state), now))
    elif filters.state == "answered":
        clauses += [Feedback.answered_at.is_not(None), Feedback.status.not_in(CLOSED_STATUSES)]
    elif filters.state == "closed":
        clauses.append(Feedback.status.in_(CLOSED_STATUSES))
    if filters.kind:
        clauses.append(Feedback.kind == FeedbackKind(filters.kind))
    if filters.q:
        q = filters.q.upper().replace(" ", "")
        clauses.append(
            sa.or_(
                Feedback.code == q,
                Feedback.id_number == q,
                Feedback.full_name.ilike(f"%{filters.q}%"),
            )
        )
    return clauses


Part = tuple[Any, Any, Any]  # the query, its due column and its id column


def queue_parts(user, filters: QueueFilters, now: datetime) -> list[Part]:
    """The queue as disjoint parts, each walkable in due order on its own index: the
    complaints assigned to the unit, and those escalated to it (assigned elsewhere). A
    single OR would make the database read and sort them all."""
    unit = permissions.unit_of(user)
    if unit is None:  # the routes ask permissions.can_use_queue first
        raise ValueError("a user without a unit has no queue")
    filtered = filter_clauses(filters, now)
    if filters.scope == "pool" and permissions.can_triage_pool(user):
        return [
            (
                sa.select(Feedback).where(Feedback.unit_kind == UnitKind.POOL, *filtered),
                Feedback.due_at,
                Feedback.id,
            )
        ]
    if filters.scope == "province" and permissions.is_province_authority(user):
        return [
            (
                sa.select(Feedback).where(Feedback.province_id == user.area_id, *filtered),
                Feedback.due_at,
                Feedback.id,
            )
        ]
    parts: list[Part] = [
        (
            sa.select(Feedback).where(permissions.unit_clause(unit), *filtered),
            Feedback.due_at,
            Feedback.id,
        )
    ]
    if unit.area_id is not None:
        # Ordered on the escalation's own copy of due_at, so its index gives the order.
        # The due-time filters again on the escalation's copy, so its index narrows them.
        due_range: list[sa.ColumnElement[bool]] = []
        if filters.state == "overdue":
            due_range.append(Escalation.due_at <= now)
        elif filters.state == "at_risk":
            due_range += [Escalation.due_at > now, Escalation.due_at <= now + clock.AT_RISK_WITHIN]
        parts.append(
            (
                sa.select(Feedback)
                .join(Escalation, Escalation.feedback_id == Feedback.id)
                .where(
                    Escalation.unit_kind == unit.kind,
                    Escalation.unit_area_id == unit.area_id,
                    *due_range,
                    sa.not_(permissions.unit_clause(unit)),
                    *filtered,
                ),
                Escalation.due_at,
                Escalation.feedback_id,
            )
        )
    return parts


ESCALATED_COUNT_CAP = 1000


def queue_count(user, filters: QueueFilters, now: datetime) -> tuple[int, bool]:
    """The number of complaints in the queue, and whether it is a lower bound. One
    statement, a count per part: the unit's open complaints, the queue's default view, are
    read from their counter (``OpenCount``); another view of the assigned part is counted
    on its index, exactly; the escalated part is counted up to ESCALATED_COUNT_CAP
    (counting it reads each complaint)."""
    counts: list[sa.ColumnElement[int]] = []
    for n, (part, _due, _key) in enumerate(queue_parts(user, filters, now)):
        if n == 0 and _only_open_of_unit(filters):
            unit = permissions.unit_of(user)
            assert unit is not None  # queue_parts refused a user without a unit
            counts.append(
                sa.func.coalesce(
                    sa.select(OpenCount.n).where(OpenCount.unit_key == unit.key).scalar_subquery(),
                    0,
                )
            )
            continue
        ids = part.with_only_columns(Feedback.id)
        if n:
            ids = ids.limit(ESCALATED_COUNT_CAP + 1)
        counts.append(sa.select(sa.func.count()).select_from(ids.subquery()).scalar_subquery())
    total, capped = 0, False
    for n, counted in enumerate(db.session.execute(sa.select(*counts)).one()):
        if n and counted > ESCALATED_COUNT_CAP:
            counted, capped = ESCALATED_COUNT_CAP, True
        total += counted
    return total, capped


def _only_open_of_unit(filters: QueueFilters) -> bool:
    """The assigned part is exactly the unit's unanswered complaints (what OpenCount counts)."""
    return (
        filters.scope == "mine" and filters.state == "open" and not filters.kind and not filters.q
    )


# What a queue row shows and sorts on: the page reads these columns, not whole complaints.
QUEUE_COLUMNS = (
    Feedback.id,
    Feedback.code,
    Feedback.status,
    Feedback.kind,
    Feedback.full_name,
    Feedback.received_at,
    Feedback.due_at,
    Feedback.answered_at,
    Feedback.escalated_at,
    Feedback.unit_kind,
    Feedback.unit_area_id,
    Feedback.unit_site_id,
)


@dataclass
class QueueRow:
    feedback: Any  # a row of QUEUE_COLUMNS
    state: ClockState
    left: str
    unit: str
    received: str


def row_unit(row) -> Unit:
    return Unit(row.unit_kind, row.unit_area_id, row.unit_site_id)


def queue_rows(rows: list, now: datetime) -> list[QueueRow]:
    """What each row shows: the units named in one query, times converted with zoneinfo
    (Babel's formatter costs a third of a millisecond a cell)."""
    names = display.unit_names(row_unit(f) for f in rows)
    return [
        QueueRow(
            f,
            clock.state(f, now),
            clock.time_left_text(f.due_at - now) if f.answered_at is None else "",
            names[row_unit(f)],
            format_time(f.received_at),
        )
        for f in rows
    ]


def queue_page(user, filters: QueueFilters, size: int, now: datetime):
    """One page by time left (earliest due first), keyset-paged on (due_at, id). Raises
    BadCursor for a page link that cannot be read."""
    after = None
    if filters.after:
        after = decode_cursor(filters.after, datetime.fromisoformat)
    rows: list = []
    for part, due, key in queue_parts(user, filters, now):
        if after is not None:
            part = part.where(sa.tuple_(due, key) > sa.tuple_(*after))
        rows += db.session.execute(
            part.with_only_columns(*QUEUE_COLUMNS).order_by(due, key).limit(size + 1)
        )
    rows.sort(key=lambda f: (f.due_at, f.id))
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        next_cursor = encode_cursor(rows[-1].due_at, rows[-1].id)
    return rows, next_cursor


def queue_export(user, filters: QueueFilters, now: datetime) -> list:
    """The whole queue in due order (up to 100,000 complaints a part), for an export."""
    found: list = []
    for part, _due, _key in queue_parts(user, filters, now):
        found += db.session.execute(part.with_only_columns(*QUEUE_COLUMNS).limit(100_000))
    found.sort(key=lambda f: (f.due_at, f.id))
    return found


def visible_feedback(user, feedback_id: int) -> Feedback | None:
    """The complaint, if the user may see it."""
    return db.session.scalar(
        sa.select(Feedback).where(Feedback.id == feedback_id, permissions.visible_clause(user))
    )


def attachments_of(feedback: Feedback) -> list:
    """The complaint's attachments, without their content."""
    return list(
        db.session.execute(
            sa.select(Attachment.id, Attachment.filename, Attachment.size).where(
                Attachment.feedback_id == feedback.id
            )
        ).all()
    )


def attachment_of(feedback: Feedback, attachment_id: int) -> Attachment | None:
    return db.session.scalar(
        sa.select(Attachment).where(
            Attachment.id == attachment_id, Attachment.feedback_id == feedback.id
        )
    )


def persons_to_link(user, feedback: Feedback, q: str) -> list[Person]:
    """The records a handler may link the complaint to: those the search finds, or without
    a search those with the complaint's ID number (up to 20, within the user's scope)."""
    if q:
        clause = search_clause(q)
        return list(
            db.session.scalars(
                sa.select(Person)
                .where(person_scope(user), clause if clause is not None else sa.true())
                .order_by(Person.name_sort)
                .limit(20)
            )
        )
    return list(
        db.session.scalars(
            sa.select(Person)
            .where(person_scope(user), Person.id_number == feedback.id_number)
            .limit(20)
        )
    )
