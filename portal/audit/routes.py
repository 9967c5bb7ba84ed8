"""The audit trail as a page: who did what, when, to which record, with the values before
and after; filtered, paged newest first (keyset on the id), exported."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import HiddenField, StringField, ValidationError

from portal.audit import permissions
from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.core import export
from portal.core.clock import local_midnight_utc
from portal.core.database import writes
from portal.core.export import Column
from portal.core.forms import DayField, PortalForm
from portal.core.labels import action_label, change_value, entity_label, field_label, role_label
from portal.core.paging import newest_first
from portal.core.rendering import is_fragment_request, render
from portal.extensions import db

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
EXPORT_BATCH = 2_000


def _trimmed(value: str | None) -> str:
    return (value or "").strip()[:80]


def _text_field(label, field_id: str, placeholder: str = "") -> StringField:
    render_kw = {"maxlength": 80, "autocomplete": "off"}
    if placeholder:
        render_kw["placeholder"] = placeholder
    return StringField(label, id=field_id, filters=[_trimmed], render_kw=render_kw)


_DAY_KW = {"maxlength": 80, "autocomplete": "off"}


class TrailFilterForm(PortalForm):
    """The trail's search: each text trimmed to 80 characters; a day read by DayField
    (dd/mm/yyyy or yyyy-mm-dd), in the office's time zone."""

    class Meta:
        csrf = False

    actor = _text_field(_l("Username"), "trail-actor")
    action = _text_field(_l("Action"), "trail-action", "user, person.update…")
    entity_type = _text_field(_l("Entity"), "trail-entity_type", "person, user…")
    entity_id = _text_field(_l("Entity id"), "trail-entity_id")
    since = DayField(_l("From (dd/mm/yyyy)"), id="trail-since", render_kw=_DAY_KW)
    until = DayField(_l("To (dd/mm/yyyy)"), id="trail-until", render_kw=_DAY_KW)
    after = HiddenField(filters=[_trimmed])
    before = HiddenField(filters=[_trimmed])

    SEARCH_FIELDS = ("actor", "action", "entity_type", "entity_id", "since", "until")

    def validate_until(self, field) -> None:
        since, until = self.since.data, field.data
        if since is not None and until is not None and until < since:
            raise ValidationError(_("The end date is before the start date."))

    def search_fields(self) -> list:
        return [self[name] for name in self.SEARCH_FIELDS]

    def messages(self) -> list[str]:
        return [str(message) for field in self.search_fields() for message in field.errors]

    def args(self) -> dict[str, str]:
        """The search as query values, for the export's and the pages' links."""
        return {field.name: field._value() for field in self.search_fields() if field.data}

    def conditions(self) -> list[Any]:
        """The search as SQL, within the reader's scope; a value in error is left out (the
        list still shows, beside its message)."""
        for field in self.search_fields():
            if field.errors:  # left out, its box empty
                field.data, field.raw_data = (None if isinstance(field, DayField) else ""), []
        out: list[Any] = [permissions.events_in_scope(current_user)]
        if self.actor.data:
            out.append(AuditEvent.actor_name == self.actor.data.lower())
        if self.action.data:
            # An action or its domain: "user" finds user.create, user.update, …
            out.append(
                sa.or_(
                    AuditEvent.action == self.action.data,
                    AuditEvent.action.startswith(self.action.data + ".", autoescape=True),
                )
            )
        if self.entity_type.data:
            out.append(AuditEvent.entity_type == self.entity_type.data)
        if self.entity_id.data:
            out.append(AuditEvent.entity_id == self.entity_id.data)
        since, until = self.since.data, self.until.data
        if since is not None:
            out.append(AuditEvent.occurred_at >= local_midnight_utc(since))
        # Until a day: before the next one starts. The calendar's last day has no next
        # one; every stored time is before its end, so it bounds nothing.
        if until is not None and until != date.max:
            out.append(AuditEvent.occurred_at < local_midnight_utc(until + timedelta(days=1)))
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


@login_required
def show_trail():
    _require_reader()
    form = TrailFilterForm(formdata=request.args)
    form.validate()
    query = sa.select(AuditEvent).where(*form.conditions())

    page = newest_first(query, AuditEvent.id, PAGE_SIZE, form)
    return render(
        "audit/trail.html",
        fragments={"trail-results": "results"},
        status=422 if form.errors else 400 if page.notice else 200,
        page=page,
        form=form,
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


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_trail(fmt: str):
    _require_reader()
    form = TrailFilterForm(formdata=request.args)
    if not form.validate():
        abort(422)
    conditions = form.conditions()
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
        {"rows": [None, len(rows)], "format": [None, fmt], "filters": [None, form.args()]},
    )
    db.session.commit()
    return export.response(
        fmt, columns, [rows], f"nhat-ky-{current_user.area.code}", _("Audit trail")
    )
