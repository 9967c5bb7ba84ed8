"""Inline correction of a person's identity by the health station (letter 2262/BYT-CNTT,
step 4).

What a correction form may hold, how it is read and checked (messages beside the field),
and what the population register says where the record differs from it. The write itself
is ``records.services.correct_person``; the routes are in ``correction_routes``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.core import events
from portal.core.clock import format_birth
from portal.core.labels import sex_label
from portal.records import rules
from portal.records.models import BirthPrecision, Person, Sex
from portal.records.services import IDENTITY_FIELDS

# The fields edited inline, in the order they are shown; birth_date carries its precision.
EDITABLE = ("full_name", "sex", "birth_date", "id_number", "nationality", "phone")
REASON_MAX = 500
PRECISION_LABELS = {
    BirthPrecision.DAY.value: _l("Full date (dd/mm/yyyy)"),
    BirthPrecision.MONTH.value: _l("Month and year (mm/yyyy)"),
    BirthPrecision.YEAR.value: _l("Year only (yyyy)"),
}


def is_identity(name: str) -> bool:
    return name in IDENTITY_FIELDS


@dataclass
class Parsed:
    """A form read: the values to save, errors by input name, and what was tidied."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    reason: str | None = None


def initial_data(person: Person, name: str) -> dict[str, str]:
    """The inputs of the editor for ``name``, filled with the record's value."""
    if name == "birth_date":
        precision = person.birth_precision.value
        return {
            "birth_date": format_birth(person.birth_date, precision),
            "birth_precision": precision,
        }
    value = getattr(person, name)
    return {name: getattr(value, "value", value) or ""}


def form_data(name: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The editor's inputs that would hold ``values`` (the register's, for a conflict)."""
    if name == "birth_date":
        precision = getattr(values["birth_precision"], "value", values["birth_precision"])
        return {
            "birth_date": format_birth(values["birth_date"], precision),
            "birth_precision": precision,
        }
    value = values[name]
    return {name: getattr(value, "value", value) or ""}


def _take(out: Parsed, name: str, value: Any) -> Any:
    """The value, or None with the refusal's message put beside the field."""
    if rules.refused(value):
        out.errors[name] = str(value)
        return None
    return value


def parse(person: Person, name: str, form: Mapping[str, str]) -> Parsed:
    """Read and check the editor of field ``name`` with the record rules
    (``records.rules``), as every other entry point does. Checked on the server only."""
    out = Parsed()
    raw = (form.get(name) or "").strip()
    if name == "full_name":
        text = _take(out, name, rules.full_name(raw))
        if text is not None:
            out.values[name] = text
    elif name == "sex":
        value = _take(out, name, rules.sex(raw))
        if value is not None:
            out.values[name] = Sex(value)
    elif name == "birth_date":
        precision = form.get("birth_precision") or ""
        if precision not in PRECISION_LABELS:
            out.errors["birth_precision"] = _("Choose how precisely the birth date is known.")
        else:
            read = _take(out, name, rules.birth_date(raw, precision))
            if read is not None:
                out.values.update(birth_date=read[0], birth_precision=BirthPrecision(read[1]))
    elif name == "id_number":
        found = _take(out, name, rules.id_number(raw, person.nationality))
        if found is not None:
            if found.tidied:
                out.notices.append(
                    _(
                        "The ID number was written with spaces, dots or dashes; it is saved as "
                        "%(number)s.",
                        number=found.number,
                    )
                )
            out.values[name] = found.number
    elif name == "nationality":
        code = _take(out, name, rules.nationality(raw))
        if code is not None:
            out.values[name] = code
    elif name == "phone":
        phone = _take(out, name, rules.phone(raw))
        if name not in out.errors:
            out.values[name] = phone
    else:
        raise ValueError(f"not an editable field: {name}")

    reason = " ".join((form.get("reason") or "").split())
    out.reason = reason or None
    if len(reason) > REASON_MAX:
        out.errors["reason"] = _("The reason is at most 500 characters.")
    elif not out.errors and is_identity(name) and not reason and changes(person, out.values):
        out.errors["reason"] = _(
            "Say why the identity is changed (for example, the document seen)."
        )
    return out


def changes(person: Person, values: Mapping[str, Any]) -> bool:
    return any(getattr(person, k) != v for k, v in values.items())


@dataclass(frozen=True)
class RegisterValue:
    """The register's value of one field, where the record differs from it."""

    values: dict[str, Any]  # what to save: for the birth date, its precision too
    text: str  # as shown


def register_differences(persons: Iterable[Person]) -> dict[int, dict[str, RegisterValue]]:
    """For each person whose record differs from their register entry, the register's value
    of every field that differs ({person id: {field: RegisterValue}}); the register's rule
    is ``registry.compare.register_differences``. One query for the whole list."""
    matchable = tuple(p for p in persons if not p.is_foreign and p.id_number)
    if not matchable:
        return {}
    # The register is the domain above this one: it answers (core/events.py).
    return events.answer(events.register_compared, matchable)


@dataclass
class Editor:
    """The field being edited: what its inputs hold, their errors, the version it was loaded
    with, and after a refused save the other side of the conflict."""

    name: str
    data: dict[str, str]
    version: int
    errors: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    theirs: str | None = None  # the current value, when someone saved meanwhile
    yours: str | None = None  # the value this user tried to save
    their_version: int | None = None
    # The field's inputs as loaded (sent back as base_*): a save over a newer version is
    # refused only when this field itself changed meanwhile.
    base: dict[str, str] = field(default_factory=dict)


def base_data(form: Mapping[str, str]) -> dict[str, str]:
    """The ``base_*`` inputs of a posted editor: the field's value when it was loaded."""
    return {key[5:]: value for key, value in form.items() if key.startswith("base_")}


def changed_since(person: Person, name: str, base: Mapping[str, str]) -> bool:
    """Whether field ``name`` differs now from the value the editor was loaded with (True
    when that is unknown: the whole record's version decides then)."""
    return not base or initial_data(person, name) != dict(base)


@dataclass
class IdentityView:
    """Everything the identity card (record page) or row (correction list) shows."""

    person: Person
    can_edit: bool = False
    register: dict[str, RegisterValue] = field(default_factory=dict)
    editor: Editor | None = None
    focus: str | None = None  # the field whose edit control takes the focus after a swap
    notices: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None  # said in the live region after a save
    member: Any = None  # the correction-list entry, for the row


def display_value(person: Person, name: str) -> str:
    """A field as the record page shows it."""
    if name == "sex":
        return sex_label(person.sex)
    if name == "birth_date":
        return format_birth(person.birth_date, person.birth_precision)
    value = getattr(person, name)
    return str(value) if value else "—"


def history_birth(value: Any, precision: Any) -> str:
    """A birth date of the record's history (an ISO date in the audit trail) as precisely
    as it was known: yyyy, mm/yyyy or dd/mm/yyyy, never 01/01/yyyy for a year."""
    if not value:
        return "—"
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return format_birth(day, precision)


def typed_value(name: str, data: Mapping[str, str]) -> str:
    """What the user typed, for the conflict's "yours" column."""
    if name == "sex":
        return sex_label(data.get("sex")) or data.get("sex", "")
    if name == "birth_date":
        precision = data.get("birth_precision", "")
        label = PRECISION_LABELS.get(precision)
        return f"{data.get('birth_date', '')}" + (f" ({label})" if label else "")
    return data.get(name, "") or "—"
