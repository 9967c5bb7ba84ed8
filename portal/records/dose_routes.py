"""Recording a new dose: the identity is checked against the register first (letter 8938/BYT-DP)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from portal.core import events
from portal.core.clock import format_birth, format_date, today_in_vietnam
from portal.core.display import mark_differences
from portal.core.labels import field_label, result_label, sex_label
from portal.core.rendering import render
from portal.core.sql import locked
from portal.extensions import db
from portal.records import permissions, vaccines
from portal.records.forms import DoseForm, parsed
from portal.records.models import Dose
from portal.records.services import add_dose

if TYPE_CHECKING:
    from portal.registry.precheck import IdentityCheck


def _last_dose(person_id: int) -> Dose | None:
    return db.session.scalar(
        sa.select(Dose)
        .where(Dose.person_id == person_id)
        .order_by(Dose.dose_number.desc())
        .limit(1)
    )


def _identity_check(person) -> IdentityCheck:
    """The person's identity checked against the population register, by the register
    (core/events.py)."""
    return events.answer(events.identity_checked, person)


def _form_page(person, form, check, status=200):
    return render(
        "records/dose_new.html",
        status=status,
        person=person,
        form=form,
        check=check,
        mark_differences=mark_differences,
        site=current_user.site,
    )


def shown_differences(person, check: IdentityCheck) -> list[dict]:
    """What the identity check showed the staff, as it is kept with an acknowledged dose:
    one entry per difference, each with the sentence shown (``text``)."""
    out: list[dict] = []
    for issue in check.issues:
        out.append(
            {"kind": "id_issue", "code": issue.code, "field": issue.field, "text": issue.message}
        )
    if check.not_found:
        out.append(
            {
                "kind": "not_found",
                "field": "id_number",
                "record": person.id_number,
                "text": _(
                    "The ID number %(id)s is not in the population database.", id=person.id_number
                ),
            }
        )
    if check.unavailable:
        out.append({"kind": "unavailable", "text": check.unavailable})
    if check.comparison is not None and check.entry is not None:
        entry = check.entry
        fields = (
            ("full_name", check.comparison.name, person.full_name, entry.full_name),
            (
                "birth_date",
                check.comparison.birth,
                format_birth(person.birth_date, person.birth_precision),
                format_birth(entry.birth_date, entry.birth_precision),
            ),
            ("sex", check.comparison.sex, sex_label(person.sex), sex_label(entry.sex)),
        )
        for name, result, mine, theirs in fields:
            if result.value in ("identical", "case_or_spacing"):
                continue
            out.append(
                {
                    "kind": "differs",
                    "field": name,
                    "result": result.value,
                    "record": mine,
                    "register": theirs,
                    "text": f"{field_label(name)}: {mine} ≠ {theirs} ({result_label(result)})",
                }
            )
    return out


def _same_dose(last: Dose | None, number: int, day, vaccine: str) -> bool:
    """The form records the person's last dose again (sent twice)."""
    return (
        last is not None
        and last.dose_number == number
        and last.vaccinated_on == day
        and last.vaccine == vaccines.catalogue().resolve(vaccine)
    )


def _already_recorded(person_id: int, number: int):
    flash(_("Dose %(n)d was already recorded.", n=number), "info")
    return redirect(url_for("records.show_record", person_id=person_id), code=303)


@login_required
def new_dose(person_id: int):
    person = permissions.get_person_or_404(current_user, person_id)
    if not permissions.can_record_dose(current_user):
        abort(403)
    last = _last_dose(person.id)
    form = DoseForm(
        formdata=None,
        dose_number=(last.dose_number + 1) if last else 1,
        vaccinated_on=format_date(today_in_vietnam()),
    )
    return _form_page(person, form, _identity_check(person))


@login_required
def create_dose(person_id: int):
    person = permissions.get_person_or_404(current_user, person_id)
    if not permissions.can_record_dose(current_user):
        abort(403)
    form = DoseForm()
    check = _identity_check(person)
    if not form.validate_on_submit():
        return _form_page(person, form, check, 422)
    # The person's doses are added one at a time: a second submit of the same form waits
    # here, then finds the dose recorded and is sent to the record (issue 15, item 2).
    locked(person)
    last = _last_dose(person.id)
    expected = (last.dose_number + 1) if last else 1
    # What records.rules read from the fields (the form's validators applied them).
    number, day = parsed(form.dose_number), parsed(form.vaccinated_on)
    if _same_dose(last, number, day, parsed(form.vaccine)):
        return _already_recorded(person.id, number)
    if number != expected:
        form.dose_number.errors.append(_("The next dose of this person is dose %(n)d.", n=expected))
    if last and day <= last.vaccinated_on:
        form.vaccinated_on.errors.append(
            _(
                "The previous dose was given on %(day)s; this one must come after it.",
                day=format_date(last.vaccinated_on),
            )
        )
    if form.dose_number.errors or form.vaccinated_on.errors:
        return _form_page(person, form, check, 422)
    if check.needs_attention and not form.acknowledge.data:
        form.acknowledge.errors.append(
            _(
                "The identity differs from the population database, or could not be checked. "
                "Check the person's documents, then tick the box to save."
            )
        )
        return _form_page(person, form, check, 409)
    try:
        add_dose(
            person,
            {
                "dose_number": number,
                "vaccine": parsed(form.vaccine),
                "lot": (form.lot.data or "").strip() or None,
                "vaccinated_on": day,
                "site_id": current_user.site_id,
            },
            actor=current_user,
            acknowledged=shown_differences(person, check) if check.needs_attention else None,
        )
    except IntegrityError:  # the dose's number was taken meanwhile (the unique constraint)
        db.session.rollback()
        return _already_recorded(person_id, number)
    db.session.commit()
    flash(_("Dose %(n)d recorded.", n=number), "success")
    return redirect(url_for("records.show_record", person_id=person.id), code=303)
