"""Inline correction of a record's identity (health station, own commune).

The editable unit is the person's identity block: the card on the record page
(``identity-<id>``) or the row of the correction list (``row-<id>``). An htmx request
targets one of them and gets it back, with at most one field open for editing; without
htmx the same URLs are whole pages and a save ends in a 303.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from portal.core import events
from portal.core.rendering import is_fragment_request, render
from portal.extensions import db
from portal.records import corrections, permissions
from portal.records.forms import identity_editor
from portal.records.history import record_history
from portal.records.labels import STATUS_LABELS
from portal.records.models import Person
from portal.records.services import VersionConflict, correct_person

TEMPLATE = "records/correct.html"


def identity_helpers() -> dict:
    """For records/_identity.html, which the record page and the correction list import."""
    return {
        "display_value": corrections.display_value,
        "is_identity": corrections.is_identity,
        "editable": corrections.EDITABLE,
        "identity_editor": identity_editor,
        "history_birth": corrections.history_birth,
        "initial_data": corrections.initial_data,
    }


def _fragments(person: Person) -> dict[str, str]:
    return {f"identity-{person.id}": "card", f"row-{person.id}": "row"}


def _view(person: Person, **kw) -> corrections.IdentityView:
    view = corrections.IdentityView(
        person=person,
        can_edit=permissions.can_correct(current_user, person),
        register=corrections.register_differences([person]).get(person.id, {}),
        **kw,
    )
    if request.headers.get("HX-Target", "").startswith("row-"):
        # The correction list's row shows the decision that put the person there; the
        # worklists domain, above this one, answers (core/events.py).
        view.member = events.answer(events.correction_row_shown, person)
    return view


def _respond(
    person: Person, view: corrections.IdentityView, status: int = 200, name_changed: bool = False
):
    # The record page's status badge and history sit outside the card: sent out of band.
    in_row = is_fragment_request() and request.headers.get("HX-Target", "").startswith("row-")
    oob = is_fragment_request() and not in_row
    return render(
        TEMPLATE,
        _fragments(person),
        status=status,
        v=view,
        person=person,
        events=[] if in_row else record_history(person, current_user),
        oob=oob,
        next_url=_next_url(),
        name_changed=name_changed,
        heading_prefix="",
    )


def _next_url() -> str | None:
    """Where a whole-page save returns: a local path only."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    # "//host" and "/\\host" lead browsers elsewhere.
    if target.startswith("/") and target[1:2] not in ("/", "\\") and not parts.netloc:
        return target
    return None


def _load(person_id: int, name: str | None = None) -> Person:
    """Load (404) and authorize (403): the route order of the house."""
    if name is not None and name not in corrections.EDITABLE:
        abort(404)
    person = permissions.get_person_or_404(current_user, person_id)
    if name is not None and not permissions.can_correct(current_user, person):
        abort(403)
    return person


@login_required
def show_identity(person_id: int):
    """The identity block with nothing open: what Esc and Cancel come back to."""
    person = _load(person_id)
    focus = request.args.get("focus")
    return _respond(person, _view(person, focus=focus if focus in corrections.EDITABLE else None))


@login_required
def edit_field(person_id: int, name: str):
    person = _load(person_id, name)
    loaded = corrections.initial_data(person, name)
    editor = corrections.Editor(name, loaded, person.version, base=loaded)
    return _respond(person, _view(person, editor=editor))


@login_required
def save_field(person_id: int, name: str):
    person = _load(person_id, name)
    try:
        expected = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    base = corrections.base_data(request.form)
    if expected != person.version and not corrections.changed_since(person, name, base):
        # Someone saved another field meanwhile: nothing of theirs is overwritten by this
        # field's save, so it goes on against their version (only the same field conflicts).
        expected = person.version
    register_fields: tuple[str, ...] = ()
    if request.form.get("use_register"):
        # The register's value, read here: the client only says which field.
        offered = corrections.register_differences([person]).get(person.id, {}).get(name)
        if offered is None:
            abort(409)
        parsed = corrections.Parsed(
            values=dict(offered.values),
            reason=" ".join((request.form.get("reason") or "").split())
            or _("Corrected to the population register's value."),
        )
        register_fields = tuple(offered.values)
        data = corrections.form_data(name, offered.values)
    else:
        data = (
            {key: request.form.get(key, "") for key in ("birth_date", "birth_precision")}
            if name == "birth_date"
            else {name: request.form.get(name, "")}
        )
        parsed = corrections.parse(person, name, request.form)
    if parsed.errors:
        editor = corrections.Editor(
            name, data, expected, parsed.errors, request.form.get("reason", ""), base=base
        )
        return _respond(person, _view(person, editor=editor), 422)

    try:
        changes, check = correct_person(
            person,
            parsed.values,
            parsed.reason,
            expected,
            actor=current_user,
            register_fields=register_fields,
        )
    except VersionConflict:
        return _conflict(person, name, data, request.form.get("reason", ""))
    except StaleDataError:
        # Saved by someone else between our read and our UPDATE: the version guard held.
        db.session.rollback()
        person = _load(person_id, name)
        return _conflict(person, name, data, request.form.get("reason", ""))

    notices = {name: parsed.notices} if parsed.notices else {}
    if not changes:
        message = _("Nothing changed.")
    elif check is not None and check.unavailable:
        message = _(
            "Saved. The population register could not be asked: %(error)s", error=check.unavailable
        )
    else:
        message = _("Saved and checked again: %(status)s.", status=STATUS_LABELS[person.status])
    if not is_fragment_request():
        db.session.commit()
        flash(message, "success")
        for notice in parsed.notices:
            flash(notice, "info")
        return redirect(
            _next_url() or url_for("records.show_record", person_id=person.id), code=303
        )
    # Rendered from the flushed state before the commit, which would expire it and cost a
    # reload of the person and the user; a failing commit still answers with an error.
    response = _respond(
        person,
        _view(person, focus=name, notices=notices, message=message),
        name_changed="full_name" in changes,
    )
    db.session.commit()
    return response


def _conflict(person: Person, name: str, data: dict[str, str], reason: str):
    """Someone saved meanwhile: nothing is written; theirs and yours side by side, and the
    editor again, now against their version, to reapply."""
    editor = corrections.Editor(
        name,
        data,
        person.version,
        reason=reason,
        theirs=corrections.display_value(person, name),
        yours=corrections.typed_value(name, data),
        their_version=person.version,
        base=corrections.initial_data(person, name),
    )
    return _respond(person, _view(person, editor=editor), 409)
