"""Handover lists in the browser: police create and hand over, the health station receives and
archives. Their URLs are listed in
``portal/worklists/blueprint.py``."""

from __future__ import annotations

from io import BytesIO
from types import SimpleNamespace

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.audit import services as audit
from portal.core import events, export
from portal.core.database import writes
from portal.core.export import Column
from portal.core.forms import PortalForm
from portal.core.ids import BadCursor, coerce_id
from portal.core.labels import sex_label
from portal.core.paging import Page, first_page_if_bad
from portal.core.pdf import birth_text
from portal.core.rendering import render
from portal.core.web import error_response
from portal.extensions import db
from portal.records import queries as record_queries
from portal.records.routes import filters_from_request
from portal.worklists import handover, pdf, permissions, queries
from portal.worklists.labels import STATE_LABELS, TRANSITION_LABELS
from portal.worklists.models import Worklist, WorklistState

STATE_BADGES = {
    WorklistState.DRAFT: "text-bg-secondary",
    WorklistState.HANDED_OVER: "text-bg-warning",
    WorklistState.RECEIVED: "text-bg-info",
    WorklistState.ARCHIVED: "text-bg-success",
}
# URL segment -> service transition
TRANSITION_SLUGS = {"hand-over": "hand_over", "receive": "receive", "archive": "archive"}
SERVICES = {
    "hand_over": handover.hand_over,
    "receive": handover.receive,
    "archive": handover.archive,
}
INDEX_FRAGMENTS = {"handover-results": "results"}


class HandoverFilterForm(PortalForm):
    class Meta:
        csrf = False

    state = SelectField(
        _l("State"),
        choices=[SelectChoice("", _l("All states"))]
        + [SelectChoice(s.value, label) for s, label in STATE_LABELS.items()],
        default="",
        validate_choice=True,
    )
    after = HiddenField()
    before = HiddenField()


class HandoverCreateForm(PortalForm):
    person_ids = SelectMultipleField(_l("Persons"), coerce=coerce_id, validate_choice=False)
    # "Select all N matching": the list is made from the filters, on the server.
    all_matching = BooleanField()
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])

    def validate_person_ids(self, field) -> None:
        if not field.data and not self.all_matching.data:
            raise ValidationError(_l("Select at least one person."))


def _worklist_or_404(worklist_id: int) -> Worklist:
    """A list outside the user's scope (or another unit's draft) is simply not found."""
    worklist = db.session.scalar(
        sa.select(Worklist).where(
            Worklist.id == worklist_id, permissions.handover_scope(current_user)
        )
    )
    if worklist is None:
        abort(404)
    return worklist


def _page_size() -> int:
    return int(current_app.config.get("RECORDS_PAGE_SIZE", 50))


@login_required
def list_handovers():
    if not permissions.can_see_handovers(current_user):
        abort(403)
    form = HandoverFilterForm(formdata=request.args)
    status = 200
    page: Page[Worklist] = Page(rows=[])
    if form.validate():
        state = WorklistState(form.state.data) if form.state.data else None
        page = first_page_if_bad(
            lambda after, before: queries.handover_page(
                current_user, state, after, before, _page_size()
            ),
            form.after.data or "",
            form.before.data or "",
        )
        if page.notice:
            status = 400
    else:
        status = 400
    rows = page.rows
    return render(
        "worklists/handover_list.html",
        INDEX_FRAGMENTS,
        status=status,
        form=form,
        page=page,
        counts=queries.member_counts([w.id for w in rows]),
        state_labels=STATE_LABELS,
        state_badges=STATE_BADGES,
        can_create=permissions.can_create_handover(current_user),
    )


NEW_FRAGMENTS = {"handover-candidates": "results"}


def _eligible_filters():
    """The record list's search and filters (records.routes), over the eligible persons."""
    filter_form, filters = filters_from_request(handover.ELIGIBLE_STATUSES)
    clauses = None
    if filters is not None:
        clauses = [
            *record_queries.filter_clauses(current_user, filters),
            *handover.eligible_clauses(current_user),
        ]
    return filter_form, filters, clauses


def _new_page(form: HandoverCreateForm, status: int = 200, message: str | None = None):
    filter_form, filters, clauses = _eligible_filters()
    page = None
    if filters is not None and clauses is not None:
        try:
            page = record_queries.page_of(
                clauses, filters, _page_size(), record_queries.count_persons(clauses)
            )
        except BadCursor:
            filter_form.after.errors = [
                _("The page link is invalid. Start again from the first page.")
            ]
            status = 400
    else:
        status = 400
    return render(
        "worklists/handover_new.html",
        NEW_FRAGMENTS,
        status=status,
        form=form,
        filter_form=filter_form,
        page=page,
        message=message,
    )


@login_required
def new_handover():
    if not permissions.can_create_handover(current_user):
        abort(403)
    return _new_page(HandoverCreateForm(formdata=None))


@login_required
def create_handover():
    if not permissions.can_create_handover(current_user):
        abort(403)
    form = HandoverCreateForm()
    if not form.validate_on_submit():
        return _new_page(form, status=422)
    try:
        if form.all_matching.data:
            _, filters, clauses = _eligible_filters()
            if clauses is None:
                return _new_page(form, status=422)
            worklist = handover.create_handover_from(current_user, clauses, form.note.data)
        else:
            worklist = handover.create_handover(
                current_user, form.person_ids.data or [], form.note.data
            )
    except handover.HandoverError as error:
        db.session.rollback()
        return _new_page(form, status=422, message=str(error))
    members = queries.member_counts([worklist.id]).get(worklist.id, 0)
    db.session.commit()
    flash(
        ngettext(
            "The handover list was created as a draft with %(num)s person.",
            "The handover list was created as a draft with %(num)s persons.",
            members,
        ),
        "success",
    )
    return redirect(url_for("worklists.show_handover", worklist_id=worklist.id), code=303)


def _detail_page(worklist: Worklist, status: int = 200, message: str | None = None):
    signed, may_sign = events.answer(events.handover_shown, worklist, user=current_user)
    return render(
        "worklists/handover_detail.html",
        status=status,
        worklist=worklist,
        members=handover.members_of(worklist),
        creator=handover.creator_name(worklist),
        allowed=[
            name
            for name in permissions.allowed_handover_transitions(current_user, worklist)
            if handover.TRANSITIONS[name].source == worklist.state
        ],
        slugs={v: k for k, v in TRANSITION_SLUGS.items()},
        transition_labels=TRANSITION_LABELS,
        state_labels=STATE_LABELS,
        state_badges=STATE_BADGES,
        birth_text=birth_text,
        message=message,
        # Signing (issue 5): the police officer signs the frozen list, once; then everyone
        # who sees the list is offered the signed copy and its verification (issue 13, 14).
        signed=signed,
        can_sign=(signed is None and worklist.state != WorklistState.DRAFT and may_sign),
    )


@login_required
def show_handover(worklist_id: int):
    return _detail_page(_worklist_or_404(worklist_id))


@login_required
def post_handover_transition(worklist_id: int, slug: str):
    worklist = _worklist_or_404(worklist_id)
    name = TRANSITION_SLUGS[slug]
    if not permissions.HANDOVER_TRANSITIONS[name](current_user, worklist):
        abort(403)
    try:
        SERVICES[name](worklist, current_user)
    except handover.HandoverError as error:
        db.session.rollback()
        return _detail_page(_worklist_or_404(worklist_id), status=409, message=str(error))
    db.session.commit()
    flash(_("The list is now: %(state)s.", state=STATE_LABELS[worklist.state]), "success")
    return redirect(url_for("worklists.show_handover", worklist_id=worklist.id), code=303)


@login_required
def download_handover(worklist_id: int):
    worklist = _worklist_or_404(worklist_id)
    if worklist.state == WorklistState.DRAFT:
        content = handover.render_document(worklist, draft=True)
        name = f"ban-nhap-danh-sach-ban-giao-{worklist.id}.pdf"
    else:
        try:
            content = handover.stored_document(worklist)
        except handover.HandoverError as error:
            current_app.logger.error("Handover list %s: stored document check failed", worklist.id)
            return error_response(409, str(error))
        name = f"danh-sach-ban-giao-{worklist.id}.pdf"
    # Cache-Control: no-store, as on every response (portal/core/headers.py).
    return send_file(BytesIO(content), mimetype="application/pdf", download_name=name, max_age=0)


def _member_columns() -> list:
    return [
        Column(_l("Full name"), lambda m: m.snapshot.get("full_name") or "", 28),
        Column(_l("Sex"), lambda m: sex_label(m.snapshot.get("sex")), 8),
        Column(
            _l("Date of birth"),
            lambda m: birth_text(m.snapshot.get("birth_date"), m.snapshot.get("birth_precision")),
            14,
        ),
        Column(_l("ID number"), lambda m: m.snapshot.get("id_number") or "", 16),
        Column(_l("Verification result"), lambda m: pdf.result_text(m.snapshot), 28),
        Column(_l("Note"), lambda m: m.note or "", 30),
    ]


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_handover(worklist_id: int, fmt: str):
    """The list's members as they were listed (their snapshot), like the PDF's table."""
    worklist = _worklist_or_404(worklist_id)
    # Plain copies: the commit below expires the ORM rows before the file is written.
    members = [
        SimpleNamespace(snapshot=dict(m.snapshot), note=m.note)
        for m in queries.members_of(worklist)
    ]
    audit.record(
        "worklist.export",
        "worklist",
        worklist.id,
        {"rows": [None, len(members)], "format": [None, fmt]},
    )
    db.session.commit()
    return export.response(
        fmt, _member_columns(), [members], f"danh-sach-ban-giao-{worklist.id}", _("Handover lists")
    )
