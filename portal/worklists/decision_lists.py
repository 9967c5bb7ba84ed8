"""The lists police decisions feed: records to correct (for the health station) and
records whose register entry should be updated (a note for the population database side).
Their URLs are listed in ``portal/worklists/blueprint.py``."""

from __future__ import annotations

from types import SimpleNamespace

import sqlalchemy as sa
from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.audit import services as audit
from portal.core import export
from portal.core.database import writes
from portal.core.export import Column
from portal.core.paging import Page, first_page_if_bad
from portal.core.pdf import birth_text
from portal.core.rendering import is_fragment_request, render
from portal.extensions import db
from portal.records.corrections import IdentityView, register_differences
from portal.records.models import Person, PersonStatus
from portal.records.permissions import can_correct, person_scope
from portal.records.queries import Filters, count_persons, page_of, search_clause
from portal.worklists.forms import DecisionFilterForm
from portal.worklists.labels import DECISION_LIST_STATE_LABELS
from portal.worklists.models import Worklist, WorklistKind, WorklistMember, WorklistState
from portal.worklists.permissions import can_see_decision_list

KINDS = {
    "corrections": WorklistKind.CORRECTION,
    "register-updates": WorklistKind.REGISTER_UPDATE,
}
TITLES = {
    WorklistKind.CORRECTION: _l("Records to correct (the register is right)"),
    WorklistKind.REGISTER_UPDATE: _l("Register entries to update (the record is right)"),
}


# Statuses that mean the record now agrees with the register (or a person vouched for it):
# the person is no longer to correct (or to report).
SETTLED = (
    PersonStatus.MATCHED,
    PersonStatus.VERIFIED,
    PersonStatus.CONFIRMED,
    PersonStatus.NEEDS_RECONFIRMATION,
    PersonStatus.EXEMPT,
)


def _clauses(kind: WorklistKind, q: str, state: str = "open") -> list[sa.ColumnElement[bool]]:
    """Persons of the user's area on an open list of this kind; ``state`` open: whose record
    still differs from the register, done: whose record agrees now."""
    clauses = [
        person_scope(current_user),
        sa.exists().where(
            WorklistMember.person_id == Person.id,
            WorklistMember.worklist_id == Worklist.id,
            Worklist.kind == kind,
            Worklist.state == WorklistState.DRAFT,
        ),
    ]
    if state == "open":
        clauses.append(Person.status.not_in(SETTLED))
    elif state == "done":
        clauses.append(Person.status.in_(SETTLED))
    search = search_clause(q)
    if search is not None:
        clauses.append(search)
    return clauses


def _filter_form(kind: WorklistKind) -> DecisionFilterForm:
    """The list's search, read from the query string; a value in error is shown with its
    message and left out of the search."""
    form = DecisionFilterForm(formdata=request.args)
    form.state.choices = [
        SelectChoice(value, label) for value, label in DECISION_LIST_STATE_LABELS[kind].items()
    ]
    form.validate()
    return form


def _members(kind: WorklistKind, persons: list[Person]) -> dict[int, WorklistMember]:
    if not persons:
        return {}
    rows = db.session.scalars(
        sa.select(WorklistMember)
        .join(Worklist)
        .where(
            WorklistMember.person_id.in_([p.id for p in persons]),
            Worklist.kind == kind,
            Worklist.state == WorklistState.DRAFT,
        )
    )
    return {m.person_id: m for m in rows}


def _kind_or_404(slug: str) -> WorklistKind:
    if slug not in KINDS:
        abort(404)
    if not can_see_decision_list(current_user, slug):
        abort(403)
    return KINDS[slug]


@login_required
def show_decision_list(slug: str):
    kind = _kind_or_404(slug)
    form = _filter_form(kind)
    q, state = form.values()
    clauses = _clauses(kind, q, state)

    def read(after: str, before: str) -> Page:
        filters = Filters(q=q, after=after, before=before)
        size = current_app.config["RECORDS_PAGE_SIZE"]
        return page_of(clauses, filters, size, count_persons(clauses))

    page = first_page_if_bad(read, form.after.data or "", form.before.data or "")
    members = _members(kind, page.rows)
    # The correction list is where the health station corrects: each row edits inline.
    register = register_differences(page.rows) if kind == WorklistKind.CORRECTION else {}
    views = [
        IdentityView(
            p,
            can_edit=kind == WorklistKind.CORRECTION and can_correct(current_user, p),
            register=register.get(p.id, {}),
            member=members.get(p.id),
        )
        for p in page.rows
    ]
    return render(
        "worklists/decision_list.html",
        {"decision-results": "results"},
        slug=slug,
        title=TITLES[kind],
        status=400 if page.notice else 200,
        page=page,
        form=form,
        q=q,
        views=views,
        state=state,
        next_url=url_for(
            "worklists.show_decision_list",
            slug=slug,
            q=q or None,
            state=None if state == "open" else state,
        ),
        # An htmx search replaces the results only: the fields' messages come with them,
        # out of band, beside each field.
        field_messages_oob=is_fragment_request(),
    )


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_decision_list(slug: str, fmt: str):
    kind = _kind_or_404(slug)
    q, state = _filter_form(kind).values()
    clauses = _clauses(kind, q, state)
    rows: list[SimpleNamespace] = []
    filters = Filters(q=q)
    while True:  # keyset batches, as on screen; plain copies survive the commit below
        page = page_of(clauses, filters, 1000)
        members = _members(kind, page.rows)
        rows.extend(
            SimpleNamespace(
                person=SimpleNamespace(
                    full_name=p.full_name,
                    id_number=p.id_number,
                    sex=p.sex.value,
                    birth=birth_text(p.birth_date.isoformat(), p.birth_precision.value),
                ),
                snapshot=dict(members[p.id].snapshot),
                note=members[p.id].note,
            )
            for p in page.rows
        )
        if not page.next_cursor:
            break
        filters.after = page.next_cursor
    audit.record(
        "worklist.export",
        "worklist_kind",
        kind.value,
        {"rows": [None, len(rows)], "format": [None, fmt]},
    )
    db.session.commit()
    columns = [
        Column(_l("Full name (record)"), lambda r: r.person.full_name, 28),
        Column(_l("Date of birth (record)"), lambda r: r.person.birth, 14),
        Column(_l("ID number"), lambda r: r.person.id_number or "", 16),
        Column(_l("Full name when listed"), lambda r: r.snapshot.get("full_name") or "", 28),
        Column(_l("Note"), lambda r: r.note or "", 40),
    ]
    return export.response(fmt, columns, [rows], slug, _("Lists"))
