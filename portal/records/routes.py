from __future__ import annotations

from collections.abc import Iterator
from html import escape
from typing import NamedTuple

from flask import current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal.audit import services as audit
from portal.core import export
from portal.core.clock import format_birth
from portal.core.database import writes
from portal.core.ids import BadCursor
from portal.core.labels import sex_label, translated
from portal.core.navigation import may_open
from portal.core.rendering import render
from portal.extensions import db
from portal.records import corrections, permissions, queries, vaccines
from portal.records.forms import RecordFilterForm
from portal.records.history import record_history
from portal.records.labels import SEX_LABELS, STATUS_LABELS
from portal.records.models import Person, PersonStatus

LIST_FRAGMENTS = {"results": "results"}


def vaccine_name(code: str | None) -> str:
    """A stored vaccine code as its Vietnamese name, in every domain's templates."""
    return vaccines.name_of(code)


EXPORT_BATCH = 1000


def filters_from_request(
    statuses=None,
) -> tuple[RecordFilterForm, queries.Filters | None]:
    """The record list's filters read from the query string (None when one is invalid);
    every list of persons with the same search and filters reads them here. ``statuses``
    narrows the status choices to those the list can hold."""
    form = RecordFilterForm(formdata=request.args)
    form.set_choices(*permissions.places_in_scope(current_user), statuses)
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


@login_required
def list_records():
    form, filters = filters_from_request()
    page = None
    status = 200
    if filters is not None:
        try:
            page = queries.list_persons(
                current_user, filters, current_app.config["RECORDS_PAGE_SIZE"]
            )
        except BadCursor:
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
        table=_table(rows),
        can_start_match=may_open(current_user, "registry.post_match"),
    )


class ListRow(NamedTuple):
    """A row of the record list, its cells written as they are (escaped by ``_table``)."""

    id: int
    name: str
    sex: str
    birth: str
    id_number: str
    commune: str
    doses: int
    status: str  # the code, for the badge's class
    status_label: str


def _table(rows) -> list[ListRow]:
    """The list's cells, worked out here and escaped here: the template writes them with
    autoescaping off. Written cell by cell in the template (an attribute lookup, a filter,
    a dict call and an escape per cell) they cost half the page's rendering; here each
    label and commune name is translated and escaped once a page, each name and ID number
    escaped once, and what cannot hold markup (numbers, codes, dates as digits) is not."""
    sexes = {key: escape(label) for key, label in translated(SEX_LABELS).items()}
    statuses = {key: escape(label) for key, label in translated(STATUS_LABELS).items()}
    communes = {
        key: escape(name) for key, name in _commune_names({p.commune_id for p in rows}).items()
    }
    return [
        ListRow(
            p.id,
            escape(p.full_name),
            sexes.get(p.sex, ""),
            format_birth(p.birth_date, p.birth_precision),
            escape(p.id_number) if p.id_number else "—",
            communes.get(p.commune_id, ""),
            p.doses,
            p.status,
            statuses[p.status],
        )
        for p in rows
    ]


def _commune_names(ids: set[int]) -> dict[int, str]:
    """The communes' names; a commune user's own (the rows of a commune's list) is known."""
    area = current_user.area
    if ids <= {area.id}:
        return {area.id: area.name} if ids else {}
    return queries.area_names(ids)


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_records():
    return _export_records("csv")


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_records_xlsx():
    return _export_records("xlsx")


def _export_records(fmt: str):
    form, filters = filters_from_request()
    if filters is None:
        return list_records()
    filters.after = filters.before = ""
    clauses = queries.filter_clauses(current_user, filters)
    total = queries.count_persons(clauses)
    audit.record(
        "records.export",
        "person_list",
        None,
        {
            "filters": [None, {k: v for k, v in vars(filters).items() if v}],
            "rows": [None, total],
            "format": [None, fmt],
        },
    )
    db.session.commit()
    return export.response(
        fmt,
        EXPORT_COLUMNS,
        _export_batches(clauses, filters),
        "danh-sach-doi-tuong",
        _("Vaccinated persons"),
    )


class _ExportRow(NamedTuple):
    person: Person
    doses: int
    commune: str


def _export_batches(clauses, filters: queries.Filters) -> Iterator[list[_ExportRow]]:
    """Page by page (keyset), so a large commune never sits in memory."""
    while True:
        page = queries.page_of(clauses, filters, EXPORT_BATCH)
        counts = queries.dose_counts([p.id for p in page.rows])
        names = queries.area_names({p.commune_id for p in page.rows})
        yield [_ExportRow(p, counts.get(p.id, 0), names.get(p.commune_id, "")) for p in page.rows]
        for p in page.rows:
            db.session.expunge(p)
        if not page.next_cursor:
            return
        filters.after = page.next_cursor


# The columns on screen, and more: nationality, phone, address.
EXPORT_COLUMNS = [
    export.Column(_l("Full name"), lambda r: r.person.full_name, 28),
    export.Column(_l("Sex"), lambda r: sex_label(r.person.sex), 8),
    export.Column(
        _l("Date of birth"),
        lambda r: export.birth_value(r.person.birth_date, r.person.birth_precision),
        13,
    ),
    export.Column(_l("ID number"), lambda r: r.person.id_number or "", 16),
    export.Column(_l("Nationality"), lambda r: r.person.nationality, 10),
    export.Column(_l("Phone"), lambda r: r.person.phone or "", 14),
    export.Column(_l("Commune / ward"), lambda r: r.commune, 24),
    export.Column(_l("Address"), lambda r: r.person.address or "", 32),
    export.Column(_l("Status"), lambda r: str(STATUS_LABELS[r.person.status]), 18),
    export.Column(_l("Doses"), lambda r: r.doses, 8),
]


@login_required
def show_record(person_id: int):
    person = permissions.get_person_or_404(current_user, person_id)
    events = record_history(person, current_user)
    view = corrections.IdentityView(
        person,
        can_edit=permissions.can_correct(current_user, person),
        register=corrections.register_differences([person]).get(person.id, {}),
    )
    return render(
        "records/detail.html",
        person=person,
        v=view,
        events=events,
        status_labels=STATUS_LABELS,
        statuses=PersonStatus,
        can_record_dose=permissions.can_record_dose(current_user),
    )
