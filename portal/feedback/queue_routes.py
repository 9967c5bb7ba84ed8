"""Staff pages: the unit's queue, one complaint and its handling, the routing rules.
Their URLs are listed in ``portal/feedback/blueprint.py``."""

from __future__ import annotations

import io

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, AreaKind
from portal.audit import services as audit
from portal.core import export
from portal.core.clock import utcnow
from portal.core.database import writes
from portal.core.export import Column
from portal.core.ids import BadCursor, parse_id
from portal.core.rendering import render
from portal.core.web import error_response
from portal.extensions import db
from portal.feedback import clock, display, permissions, queries, routing, services
from portal.feedback.clock import ClockState
from portal.feedback.forms import AnswerForm, CloseForm, QueueFilterForm, ReassignForm, RuleForm
from portal.feedback.labels import QUEUE_STATE_LABELS, precision_label
from portal.feedback.models import (
    CLOSED_STATUSES,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    Precision,
    UnitKind,
)
from portal.feedback.routing import Unit
from portal.records.permissions import get_person_or_404


@login_required
def show_queue():
    if not permissions.can_use_queue(current_user):
        abort(403)
    form = QueueFilterForm(formdata=request.args)
    filters = form.filters()
    now = utcnow()
    try:
        rows, next_cursor = queries.queue_page(
            current_user, filters, current_app.config["FEEDBACK_QUEUE_PAGE_SIZE"], now
        )
    except BadCursor:
        abort(400)
    total, capped = queries.queue_count(current_user, filters, now)
    return render(
        "feedback/queue.html",
        {"queue-results": "results"},
        rows=queries.queue_rows(rows, now),
        capped=capped,
        status_labels={s: display.feedback_status_label(s) for s in FeedbackStatus},
        kind_labels={k: display.kind_label(k) for k in FeedbackKind},
        clock_labels={c: display.clock_label(c) for c in ClockState},
        form=form,
        filters=filters,
        next_cursor=next_cursor,
        total=total,
        now=now,
        unit_name=display.unit_name(permissions.unit_of(current_user)),
        can_triage=permissions.can_triage_pool(current_user),
        oversees=permissions.is_province_authority(current_user),
        kinds=display.KIND_LABELS,
        states=QUEUE_STATE_LABELS,
        can_configure=permissions.can_configure_rules(current_user),
    )


def queue_template_helpers():
    return {"queue_state_labels": QUEUE_STATE_LABELS, "time_left": clock.time_left_text}


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_queue(fmt: str):
    if not permissions.can_use_queue(current_user):
        abort(403)
    filters = QueueFilterForm(formdata=request.args).filters()
    now = utcnow()
    found = queries.queue_export(current_user, filters, now)
    names = display.unit_names(queries.row_unit(f) for f in found)
    rows = [
        {
            "code": f.code,
            "received": f.received_at,
            "due": f.due_at,
            "state": display.clock_label(clock.state(f, now)),
            "status": display.feedback_status_label(f.status),
            "kind": display.kind_label(f.kind),
            "name": f.full_name,
            "unit": names[queries.row_unit(f)],
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
    feedback = queries.visible_feedback(current_user, feedback_id)
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
        attachments=queries.attachments_of(feedback),
        can_handle=permissions.can_handle(current_user, feedback),
        can_reassign=can_reassign,
        answer_form=forms.get("answer_form") or AnswerForm(answers_seen=len(feedback.answers)),
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


# A second submit's answer says so in its address, not only in the session's flashed
# messages: two answers at once each set the session cookie, and the one the browser
# keeps last may not be the one that carries the message.
ALREADY_ANSWERED = "already-answered"


@login_required
def show_feedback(feedback_id: int):
    feedback = _load(feedback_id)
    if request.args.get("notice") == ALREADY_ANSWERED:
        flash(_("This answer had already been sent to the citizen."), "info")
    q = (request.args.get("q") or "").strip()[:100]
    persons = None
    if (q or feedback.id_number) and permissions.can_handle(current_user, feedback):
        persons = queries.persons_to_link(current_user, feedback, q)
    return _detail(feedback, persons=persons, q=q)


def _handler(feedback_id: int) -> Feedback:
    feedback = _load(feedback_id)
    if not permissions.can_handle(current_user, feedback):
        abort(403)
    return feedback


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


@login_required
def answer_feedback(feedback_id: int):
    feedback = _handler(feedback_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _detail(feedback, status=422, answer_form=form)
    try:
        services.answer(feedback, form.answer.data, current_user, form.answers_seen.data)
    except services.AlreadyAnswered:  # a second submit of the form: the first one's result
        db.session.rollback()
        return redirect(
            url_for("feedback.show_feedback", feedback_id=feedback.id, notice=ALREADY_ANSWERED),
            303,
        )
    db.session.commit()
    flash(_("The answer was sent to the citizen."), "success")
    return redirect(url_for("feedback.show_feedback", feedback_id=feedback.id), 303)


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


@login_required
def download_attachment(feedback_id: int, attachment_id: int):
    feedback = _load(feedback_id)
    attachment = queries.attachment_of(feedback, attachment_id)
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


@login_required
def show_rules():
    if not permissions.can_configure_rules(current_user):
        abort(403)
    return _rules_page(RuleForm())


def _rules_page(form: RuleForm, status: int = 200):
    province = _rule_province()
    form.precision.choices = [SelectChoice(p.value, precision_label(p)) for p in Precision]
    form.target.choices = [SelectChoice(u.value, display.unit_kind_label(u)) for u in UnitKind]
    return render(
        "feedback/rules.html",
        status=status,
        form=form,
        province=province,
        rules=routing.rules_for_province(province.id if province else None),
    )


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
