"""The audit trail as a page: who did what, when, to which record, with the values before
and after; filtered, paged newest first (keyset on the id), exported."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.audit import permissions
from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.core import export
from portal.core.clock import local_midnight_utc
from portal.core.database import writes
from portal.core.export import Column
from portal.core.forms import parse_day
from portal.core.ids import BadCursor, decode_cursor, encode_cursor
from portal.core.labels import action_label, change_value, entity_label, field_label, role_label
from portal.core.rendering import is_fragment_request, render
from portal.core.web import error_response
from portal.extensions import db

bp = Blueprint("audit", __name__)

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
EXPORT_BATCH = 2_000


@dataclass
class Filters:
    actor: str = ""
    action: str = ""
    entity_type: str = ""
    entity_id: str = ""
    since: str = ""
    until: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls) -> Filters:
        def arg(name: str) -> str:
            return request.args.get(name, "").strip()[:80]

        return cls(
            actor=arg("actor"),
            action=arg("action"),
            entity_type=arg("entity_type"),
            entity_id=arg("entity_id"),
            since=arg("since"),
            until=arg("until"),
        )

    def args(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v and k != "errors"}

    def _utc_bound(self, name: str, text: str, end: bool) -> datetime | None:
        """A day typed in the office's time zone, as the stored (naive UTC) bound."""
        if not text:
            return None
        day = parse_day(text)
        if day is None:
            self.errors[name] = _("Write the date as dd/mm/yyyy, for example 30/04/2027.")
            return None
        if end:
            # Until a day: before the next one starts. The calendar's last day has no next
            # one; every stored time is before its end, so it bounds nothing.
            return None if day == date.max else local_midnight_utc(day + timedelta(days=1))
        return local_midnight_utc(day)

    def conditions(self) -> list[Any]:
        out: list[Any] = [permissions.events_in_scope(current_user)]
        if self.actor:
            out.append(AuditEvent.actor_name == self.actor.lower())
        if self.action:
            # An action or its domain: "user" finds user.create, user.update, …
            out.append(
                sa.or_(
                    AuditEvent.action == self.action,
                    AuditEvent.action.startswith(self.action + ".", autoescape=True),
                )
            )
        if self.entity_type:
            out.append(AuditEvent.entity_type == self.entity_type)
        if self.entity_id:
            out.append(AuditEvent.entity_id == self.entity_id)
        since = self._utc_bound("since", self.since, end=False)
        until = self._utc_bound("until", self.until, end=True)
        if since is not None:
            out.append(AuditEvent.occurred_at >= since)
        if until is not None:
            out.append(AuditEvent.occurred_at < until)
        if since is not None and until is not None and until <= since:
            self.errors["until"] = _("The end date is before the start date.")
        return out


def change_lines(event: AuditEvent) -> list[str]:
    """Each changed field as "field: before → after", in words as the record history shows
    them (core.labels: field names, labels of codes, dd/mm/yyyy, stored times in Vietnam's
    time); a value that is not a pair as it is."""
    out = []
    for name, value in (event.changes or {}).items():
        label = field_label(name)
        if isinstance(value, list) and len(value) == 2:
            before, after = (_text(name, v) for v in value)
            out.append(f"{label}: {before} → {after}")
        else:
            out.append(f"{label}: {_text(name, value)}")
    return out


def _text(name: str, value: Any) -> str:
    shown = (
        json.dumps(value, ensure_ascii=False)
        if isinstance(value, dict)
        else change_value(name, value)
    )
    return _short(shown)


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _require_reader() -> None:
    if not permissions.can_read_trail(current_user):
        abort(403)


@bp.get("/audit")
@login_required
def show_trail():
    _require_reader()
    filters = Filters.from_request()
    conditions = filters.conditions()
    after = None
    if request.args.get("after"):
        try:
            (after,) = decode_cursor(request.args["after"])
        except BadCursor:
            return error_response(
                400, _("The page link is invalid. Start again from the first page.")
            )
    rows: list[AuditEvent] = []
    if not filters.errors:
        query = sa.select(AuditEvent).where(*conditions)
        if after is not None:
            query = query.where(AuditEvent.id < after)
        rows = list(db.session.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render(
        "audit/trail.html",
        fragments={"trail-results": "results"},
        status=422 if filters.errors else 200,
        rows=rows,
        filters=filters,
        next_link=encode_cursor(rows[-1].id) if more else None,
        first_page=after is None,
        change_lines=change_lines,
        role_label=role_label,
        action_label=action_label,
        entity_label=entity_label,
        # An htmx search replaces the results only: the fields' messages come
        # with them, out of band, beside each field.
        field_messages_oob=is_fragment_request(),
    )


EXPORT_COLUMNS = [
    Column(_l("Time"), lambda e: e.occurred_at, 20),
    Column(_l("Username"), lambda e: e.actor_name or "", 20),
    Column(_l("Role"), lambda e: role_label(e.actor_role) if e.actor_role else "", 18),
    Column(_l("Area code"), lambda e: e.actor_area or "", 10),
    Column(_l("Action"), lambda e: action_label(e.action), 28),
    Column(_l("Action code"), lambda e: e.action, 22),
    Column(_l("Entity"), lambda e: entity_label(e.entity_type), 18),
    Column(_l("Entity id"), lambda e: e.entity_id or "", 14),
    Column(_l("Changes"), lambda e: "; ".join(change_lines(e)), 60),
    Column(_l("Reason"), lambda e: e.reason or "", 30),
    Column(_l("Client address"), lambda e: e.client_addr or "", 16),
    Column(_l("Sequence"), lambda e: e.seq, 10),
]


@bp.get("/audit/export.<any(xlsx, csv):fmt>")
@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_trail(fmt: str):
    _require_reader()
    filters = Filters.from_request()
    conditions = filters.conditions()
    if filters.errors:
        abort(422)
    # Read before the export's own event commits (a commit expires what was loaded), newest
    # first, at most EXPORT_LIMIT events: a whole national trail is not a spreadsheet.
    columns, rows = export.read_now(
        EXPORT_COLUMNS,
        db.session.scalars(
            sa.select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.id.desc())
            .limit(EXPORT_LIMIT)
            .execution_options(yield_per=EXPORT_BATCH)
        ),
    )
    audit.record(
        "audit.export",
        "area",
        current_user.area.code,
        {"rows": [None, len(rows)], "format": [None, fmt], "filters": [None, filters.args()]},
    )
    db.session.commit()
    return export.response(
        fmt, columns, [rows], f"nhat-ky-{current_user.area.code}", _("Audit trail")
    )
