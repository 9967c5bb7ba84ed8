"""Staff pages: the unit's queue, one complaint and its handling, the routing rules.
Routes on the feedback blueprint, imported by ``create_app``."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, AreaKind
from portal.audit import services as audit
from portal.core import export
from portal.core.clock import format_time, utcnow
from portal.core.database import writes
from portal.core.export import Column
from portal.core.ids import BadCursor, decode_cursor, encode_cursor, parse_id
from portal.core.rendering import render
from portal.core.web import error_response
from portal.extensions import db
from portal.feedback import clock, display, permissions, routing, services
from portal.feedback.clock import ClockState
from portal.feedback.forms import AnswerForm, CloseForm, ReassignForm, RuleForm
from portal.feedback.models import (
    CLOSED_STATUSES,
    Attachment,
    Escalation,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    OpenCount,
    Precision,
    UnitKind,
)
from portal.feedback.routes import bp
from portal.feedback.routing import Unit
from portal.records.models import Person
from portal.records.permissions import get_person_or_404, person_scope
from portal.records.queries import search_clause

STATES = ("open", "at_risk", "overdue", "answered", "closed", "all")
SCOPES = ("mine", "pool", "province")


@dataclass
class QueueFilters:
    scope: str = "mine"
    state: str = "open"
    kind: str = ""
    q: str = ""
    after: str = ""

    @classmethod
    def from_args(cls, args) -> QueueFilters:
        scope = args.get("scope", "mine")
        state = args.get("state", "open")
        kind = args.get("kind", "")
        return cls(
            scope=scope if scope in SCOPES else "mine",
            state=state if state in STATES else "open",
            kind=kind if kind in {k.value for k in FeedbackKind} else "",
            q=(args.get("q") or "").strip()[:100],
            after=args.get("after", ""),
        )

    def args(self) -> dict[str, str]:
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
    if unit is None:
        abort(403)
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
    """One page by time left (earliest due first), keyset-paged on (due_at, id)."""
    after = None
    if filters.after:
        try:
            after = decode_cursor(filters.after, datetime.fromisoformat)
        except BadCursor:
            abort(400)
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


@bp.get("/queue")
@login_required
def show_queue():
    if not permissions.can_use_queue(current_user):
        abort(403)
    filters = QueueFilters.from_args(request.args)
    now = utcnow()
    rows, next_cursor = queue_page(
        current_user, filters, current_app.config["FEEDBACK_QUEUE_PAGE_SIZE"], now
    )
    total, capped = queue_count(current_user, filters, now)
    return render(
        "feedback/queue.html",
        {"queue-results": "results"},
        rows=queue_rows(rows, now),
        capped=capped,
        status_labels={s: display.feedback_status_label(s) for s in FeedbackStatus},
        kind_labels={k: display.kind_label(k) for k in FeedbackKind},
        clock_labels={c: display.clock_label(c) for c in ClockState},
        filters=filters,
        next_cursor=next_cursor,
        total=total,
        now=now,
        unit_name=display.unit_name(permissions.unit_of(current_user)),
        can_triage=permissions.can_triage_pool(current_user),
        oversees=permissions.is_province_authority(current_user),
        kinds=display.KIND_LABELS,
        states=STATES,
        can_configure=permissions.can_configure_rules(current_user),
    )


STATE_LABELS = {
    "open": _l("Open"),
    "at_risk": _l("At risk"),
    "overdue": _l("Overdue"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
    "all": _l("All"),
}


@bp.context_processor
def _queue_helpers():
    return {"queue_state_labels": STATE_LABELS, "time_left": clock.time_left_text}


@bp.get("/queue/export.<any(csv, xlsx):fmt>")
@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_queue(fmt: str):
    if not permissions.can_use_queue(current_user):
        abort(403)
    filters = QueueFilters.from_args(request.args)
    now = utcnow()
    found: list = []
    for part, _due, _key in queue_parts(current_user, filters, now):
        found += db.session.execute(part.with_only_columns(*QUEUE_COLUMNS).limit(100_000))
    found.sort(key=lambda f: (f.due_at, f.id))
    names = display.unit_names(row_unit(f) for f in found)
    rows = [
        {
            "code": f.code,
            "received": f.received_at,
            "due": f.due_at,
            "state": display.clock_label(clock.state(f, now)),
            "status": display.feedback_status_label(f.status),
            "kind": display.kind_label(f.kind),
            "name": f.full_name,
            "unit": names[row_unit(f)],
            "left": clock.time_left_text(clock.time_left(f, now)) if f.answered_at is None else "",
        }
        for f in found
    ]
    audit.record(
        "feedback.export",
        "feedback_queue",
        None,
        {"rows": [None, len(rows)], "format": [None, fmt]},
    )
    db.session.commit()
    columns = [
        Column(_l("Tracking code"), lambda r: r["code"], 14),
        Column(_l("Received"), lambda r: r["received"], 18),
        Column(_l("Due"), lambda r: r["due"], 18),
        Column(_l("Time left"), lambda r: r["left"], 12),
        Column(_l("Deadline"), lambda r: r["state"], 14),
        Column(_l("Status"), lambda r: r["status"], 14),
        Column(_l("What is wrong"), lambda r: r["kind"], 24),
        Column(_l("Full name"), lambda r: r["name"], 26),
        Column(_l("Handled by"), lambda r: r["unit"], 30),
    ]
    return export.response(fmt, columns, [rows], "phan-anh", _("Complaints"))


def _load(feedback_id: int) -> Feedback:
    """404 for a complaint the user may not see: its existence is not revealed."""
    feedback = db.session.scalar(
        sa.select(Feedback).where(
            Feedback.id == feedback_id, permissions.visible_clause(current_user)
        )
    )
    if feedback is None:
        abort(404)
    return feedback


def _detail(feedback: Feedback, status: int = 200, **forms):
    can_reassign = permissions.can_reassign(current_user, feedback)
    reassign_form = forms.get("reassign_form") or ReassignForm()
    if can_reassign:
        reassign_form.unit.choices = unit_choices(_assignable(feedback))
    return render(
        "feedback/detail.html",
        {"person-search": "person_search"},
        status=status,
        feedback=feedback,
        now=utcnow(),
        clock_state=clock.state(feedback),
        events=audit.history("feedback", feedback.code),
        attachments=db.session.execute(
            sa.select(Attachment.id, Attachment.filename, Attachment.size).where(
                Attachment.feedback_id == feedback.id
            )
        ).all(),
        can_handle=permissions.can_handle(current_user, feedback),
        can_reassign=can_reassign,
        answer_form=forms.get("answer_form") or AnswerForm(),
        close_form=forms.get("close_form") or CloseForm(),
        reassign_form=reassign_form,
        persons=forms.get("persons"),
        q=forms.get("q", ""),
    )


def unit_key(unit: Unit) -> str:
    return unit.key


def unit_choices(units: list[tuple[Unit, str, bool]]) -> list[SelectChoice]:
    """Units with an active account first, to be chosen; the others after them, shown
    but disabled, each saying why."""
    with_account = str(_l("Units with an active account"))
    without = str(_l("No active account yet: cannot be chosen"))

    def label(unit: Unit, name: str) -> str:
        # A site is often named after its commune's station ("Trạm Y tế Phường Ba Đình"):
        # the two are different units, answered from different accounts.
        return _("%(name)s (vaccination site)", name=name) if unit.kind == UnitKind.SITE else name

    units = [(u, label(u, name), open_) for u, name, open_ in units]
    choices = [SelectChoice("", "—")]
    choices += [
        SelectChoice(u.key, name, optgroup=with_account) for u, name, open_ in units if open_
    ]
    choices += [
        SelectChoice(
            u.key,
            _("%(name)s (no active account)", name=name),
            render_kw={"disabled": True},
            optgroup=without,
        )
        for u, name, open_ in units
        if not open_
    ]
    return choices


def _assignable(feedback: Feedback) -> list[tuple[Unit, str, bool]]:
    province_id = feedback.province_id
    if province_id is None and permissions.is_province_authority(current_user):
        province_id = current_user.area_id
    province = db.session.get(Area, province_id) if province_id else None
    units = services.units_in_province(province) if province is not None else []
    if current_user.role.value == "admin":
        units.append((Unit(UnitKind.POOL), display.unit_kind_label(UnitKind.POOL), True))
    return units


@bp.get("/queue/<id:feedback_id>")
@login_required
def show_feedback(feedback_id: int):
    feedback = _load(feedback_id)
    q = (request.args.get("q") or "").strip()[:100]
    persons = None
    if q and permissions.can_handle(current_user, feedback):
        clause = search_clause(q)
        persons = list(
            db.session.scalars(
                sa.select(Person)
                .where(person_scope(current_user), clause if clause is not None else sa.true())
                .order_by(Person.name_sort)
                .limit(20)
            )
        )
    elif feedback.id_number and permissions.can_handle(current_user, feedback):
        persons = list(
            db.session.scalars(
                sa.select(Person)
                .where(person_scope(current_user), Person.id_number == feedback.id_number)
                .limit(20)
            )
        )
    return _detail(feedback, persons=persons, q=q)


def _handler(feedback_id: int) -> Feedback:
    feedback = _load(feedback_id)
    if not permissions.can_handle(current_user, feedback):
        abort(403)
    return feedback


@bp.post("/queue/<id:feedback_id>/link")
@login_required
def link_person(feedback_id: int):
    feedback = _handler(feedback_id)
    raw = request.form.get("person_id", "")
    person_id = parse_id(raw)
    if raw and person_id is None:
        abort(400)
    person = get_person_or_404(current_user, person_id) if person_id is not None else None
    services.link_person(feedback, person, current_user)
    db.session.commit()
    flash(_("The record was linked.") if person else _("The link was removed."), "success")
    return redirect(url_for("feedback.show_feedback", feedback_id=feedback.id), 303)


@bp.post("/queue/<id:feedback_id>/answer")
@login_required
def answer_feedback(feedback_id: int):
    feedback = _handler(feedback_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _detail(feedback, status=422, answer_form=form)
    services.answer(feedback, form.answer.data, current_user)
    db.session.commit()
    flash(_("The answer was sent to the citizen."), "success")
    return redirect(url_for("feedback.show_feedback", feedback_id=feedback.id), 303)


@bp.post("/queue/<id:feedback_id>/close")
@login_required
def close_feedback(feedback_id: int):
    feedback = _handler(feedback_id)
    form = CloseForm()
    if feedback.status in CLOSED_STATUSES:
        return error_response(409, _("This complaint has already been closed."))
    if not form.validate_on_submit():
        return _detail(feedback, status=422, close_form=form)
    try:
        services.close(feedback, FeedbackStatus(form.outcome.data), form.reason.data, current_user)
    except services.AlreadyClosed:  # closed meanwhile: a second submit of the form
        db.session.rollback()
        return error_response(409, _("This complaint has already been closed."))
    db.session.commit()
    flash(_("The report was closed."), "success")
    return redirect(url_for("feedback.show_feedback", feedback_id=feedback.id), 303)


@bp.post("/queue/<id:feedback_id>/reassign")
@login_required
def reassign_feedback(feedback_id: int):
    feedback = _load(feedback_id)
    if not permissions.can_reassign(current_user, feedback):
        abort(403)
    form = ReassignForm()
    unit = Unit.from_key(form.unit.data or "")
    units = {u.key: open_ for u, _name, open_ in _assignable(feedback)}
    valid = form.validate_on_submit()
    if unit is None or unit.key not in units:
        form.unit.errors = [_("Choose a unit.")]
    elif not units[unit.key]:
        form.unit.errors = [
            _("Nobody can log in to this unit yet; choose a unit with an active account.")
        ]
    if not valid or form.unit.errors:
        return _detail(feedback, status=422, reassign_form=form)
    assert unit is not None
    try:
        services.reassign(feedback, unit, form.reason.data, current_user)
    except services.UnitWithoutAccount:  # the account was closed since the check
        form.unit.errors = [
            _("Nobody can log in to this unit yet; choose a unit with an active account.")
        ]
        return _detail(feedback, status=422, reassign_form=form)
    db.session.commit()
    flash(_("The report was sent to %(unit)s.", unit=display.unit_name(unit)), "success")
    if permissions.can_handle(current_user, feedback):
        return redirect(url_for("feedback.show_feedback", feedback_id=feedback.id), 303)
    return redirect(url_for("feedback.show_queue"), 303)


@bp.get("/queue/<id:feedback_id>/attachments/<id:attachment_id>")
@login_required
def download_attachment(feedback_id: int, attachment_id: int):
    feedback = _load(feedback_id)
    attachment = db.session.scalar(
        sa.select(Attachment).where(
            Attachment.id == attachment_id, Attachment.feedback_id == feedback.id
        )
    )
    if attachment is None:
        abort(404)

    return send_file(
        io.BytesIO(attachment.data),
        mimetype=attachment.content_type,
        as_attachment=True,
        download_name=attachment.filename or "tep",
    )


# --- the routing table -------------------------------------------------------------------


def _rule_province():
    """Administrators edit the national rules; a province authority its own province's."""
    if permissions.is_province_authority(current_user):
        return current_user.area
    return None


@bp.get("/rules")
@login_required
def show_rules():
    if not permissions.can_configure_rules(current_user):
        abort(403)
    return _rules_page(RuleForm())


def _rules_page(form: RuleForm, status: int = 200):
    province = _rule_province()
    form.precision.choices = [SelectChoice(p.value, display.precision_label(p)) for p in Precision]
    form.target.choices = [SelectChoice(u.value, display.unit_kind_label(u)) for u in UnitKind]
    return render(
        "feedback/rules.html",
        status=status,
        form=form,
        province=province,
        rules=routing.rules_for_province(province.id if province else None),
    )


@bp.post("/rules")
@login_required
def post_rule():
    if not permissions.can_configure_rules(current_user):
        abort(403)
    form = RuleForm()
    form.precision.choices = [SelectChoice(p.value, p.value) for p in Precision]
    form.target.choices = [SelectChoice(u.value, u.value) for u in UnitKind]
    if not form.validate_on_submit():
        return _rules_page(form, 422)
    province = _rule_province()
    if province is not None and province.kind != AreaKind.PROVINCE:
        abort(403)
    try:
        routing.set_rule(
            Precision(form.precision.data),
            province,
            UnitKind(form.target.data),
            form.reason.data,
            current_user,
        )
    except routing.RuleError as error:
        getattr(form, error.field).errors = [error.message]
        return _rules_page(form, 422)
    db.session.commit()
    flash(_("The routing rule was saved."), "success")
    return redirect(url_for("feedback.show_rules"), 303)
