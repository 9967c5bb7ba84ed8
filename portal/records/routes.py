from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.audit import services as audit
from portal.core.rendering import render
from portal.extensions import db
from portal.records import permissions, queries
from portal.records.forms import STATUS_LABELS, RecordFilterForm
from portal.records.models import PersonStatus
from portal.worklists.permissions import can_start_match

bp = Blueprint("records", __name__, url_prefix="/records")

LIST_FRAGMENTS = {"results": "results"}
EXPORT_BATCH = 1000


def _filters_from_request() -> tuple[RecordFilterForm, queries.Filters | None]:
    form = RecordFilterForm(formdata=request.args)
    form.set_choices(
        permissions.communes_in_scope(current_user), permissions.sites_in_scope(current_user)
    )
    if not form.validate():
        return form, None
    return form, queries.Filters(
        q=form.q.data or "",
        status=form.status.data or "",
        commune=form.commune.data or "",
        site=form.site.data or "",
        sort=form.sort.data or "name",
        after=form.after.data or "",
        before=form.before.data or "",
    )


@bp.get("")
@login_required
def list_records():
    form, filters = _filters_from_request()
    page = None
    status = 200
    if filters is not None:
        try:
            page = queries.list_persons(
                current_user, filters, current_app.config["RECORDS_PAGE_SIZE"]
            )
        except queries.BadCursor:
            form.after.errors = [_("The page link is invalid. Start again from the first page.")]
            status = 400
    else:
        status = 400
    rows = page.rows if page else []
    return render(
        "records/list.html",
        LIST_FRAGMENTS,
        status=status,
        form=form,
        page=page,
        status_labels=STATUS_LABELS,
        dose_counts=queries.dose_counts([p.id for p in rows]),
        commune_names=queries.area_names({p.commune_id for p in rows}),
        can_start_match=can_start_match(current_user),
    )


@bp.get("/export.csv")
@login_required
def export_records():
    form, filters = _filters_from_request()
    if filters is None:
        return list_records()
    filters.after = filters.before = ""
    clauses = queries.filter_clauses(current_user, filters)
    total = queries.count_persons(clauses)
    audit.record(
        "records.export",
        "person_list",
        None,
        {"filters": [None, {k: v for k, v in vars(filters).items() if v}], "rows": [None, total]},
    )
    db.session.commit()
    return Response(
        stream_with_context(_csv_rows(clauses, filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=danh-sach-doi-tuong.csv"},
    )


def _csv_rows(clauses, filters: queries.Filters):
    """Stream the export page by page (keyset), so a large commune never sits in memory."""
    from portal.core.web import format_birth

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel shows UTF-8 diacritics only with a BOM
    writer.writerow([_("Full name"), _("Sex"), _("Date of birth"), _("ID number"),
                     _("Nationality"), _("Phone"), _("Commune / ward"), _("Address"),
                     _("Status"), _("Doses")])
    while True:
        page = queries.page_of(clauses, filters, EXPORT_BATCH)
        counts = queries.dose_counts([p.id for p in page.rows])
        names = queries.area_names({p.commune_id for p in page.rows})
        for p in page.rows:
            writer.writerow([p.full_name, _sex_label(p.sex),
                             format_birth(p.birth_date, p.birth_precision), p.id_number or "",
                             p.nationality, p.phone or "", names.get(p.commune_id, ""),
                             p.address or "", str(STATUS_LABELS[p.status]),
                             counts.get(p.id, 0)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        for p in page.rows:
            db.session.expunge(p)
        if not page.next_cursor:
            return
        filters.after = page.next_cursor


def _sex_label(sex) -> str:
    return _("Male") if sex == "male" else _("Female")


@bp.get("/<int(max=2147483647):person_id>")
@login_required
def show_record(person_id: int):
    person = permissions.get_person_or_404(current_user, person_id)
    events = audit.history("person", person.id)
    return render(
        "records/detail.html",
        person=person,
        events=events,
        status_labels=STATUS_LABELS,
        statuses=PersonStatus,
    )
