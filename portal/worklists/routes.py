from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.audit import services as audit
from portal.core import export
from portal.core.database import writes
from portal.core.display import mark_differences
from portal.core.ids import BadCursor
from portal.core.rendering import is_fragment_request, render
from portal.extensions import db
from portal.records.queries import count_persons
from portal.worklists import exports, permissions, queries, services
from portal.worklists.forms import (
    ACTION_LABELS,
    DECISION_LABELS,
    DIFFERENCE_LABELS,
    ReviewActionForm,
    ReviewFilterForm,
)

REVIEW_FRAGMENTS = {"review-results": "results"}


def _review_page(action_form: ReviewActionForm, status: int = 200, message: str | None = None):
    form = ReviewFilterForm(formdata=request.args)
    page = None
    if form.validate():
        try:
            page = queries.review_page(
                current_user,
                form.difference.data or "",
                form.q.data or "",
                form.after.data or "",
                form.before.data or "",
                current_app.config["RECORDS_PAGE_SIZE"],
                form.decided.data or "open",
            )
        except BadCursor:
            status = 400
    else:
        status = 400
    rows = page.rows if page else []
    results, entries = queries.results_and_entries(rows)
    return render(
        "worklists/review.html",
        REVIEW_FRAGMENTS,
        status=status,
        form=form,
        action_form=action_form,
        page=page,
        results=results,
        entries=entries,
        decisions=queries.decisions_of(rows),
        decision_labels=DECISION_LABELS,
        mark_differences=mark_differences,
        difference_labels=DIFFERENCE_LABELS,
        action_labels=ACTION_LABELS,
        message=message,
    )


@login_required
def show_review():
    if not permissions.can_review(current_user):
        abort(403)
    return _review_page(ReviewActionForm(formdata=None))


@login_required
def post_review():
    if not permissions.can_review(current_user):
        abort(403)
    form = ReviewActionForm()
    if not form.validate_on_submit():
        return _review_page(form, status=422)
    persons = queries.reviewable(current_user, form.person_ids.data)
    changed = services.review(
        persons, services.ReviewAction(form.action.data), form.note.data.strip(), current_user
    )
    db.session.commit()
    message = ngettext("%(num)d person handled.", "%(num)d persons handled.", changed)
    if is_fragment_request():
        return _review_page(ReviewActionForm(formdata=None), message=message)
    flash(message, "success")
    return redirect(url_for("worklists.show_review", **request.args), code=303)


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_review(fmt: str):
    if not permissions.can_review(current_user):
        abort(403)
    form = ReviewFilterForm(formdata=request.args)
    if not form.validate():
        return _review_page(ReviewActionForm(formdata=None))
    difference, q = form.difference.data or "", form.q.data or ""
    state = form.decided.data or "open"
    clauses = queries.review_clauses(current_user, difference, q, state)
    filters = {
        k: v
        for k, v in (
            ("difference", difference),
            ("q", q),
            ("decided", "" if state == "open" else state),
        )
        if v
    }
    audit.record(
        "worklist.export",
        "review_list",
        None,
        {
            "filters": [None, filters],
            "rows": [None, count_persons(clauses)],
            "format": [None, fmt],
        },
    )
    db.session.commit()
    return export.response(
        fmt,
        exports.COLUMNS,
        exports.review_batches(clauses),
        "ra-soat-danh-tinh",
        _("Identity review"),
    )
