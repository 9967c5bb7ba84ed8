"""Human names, in the user's language, for codes stored in the database."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ID_KIND_LABELS = {
    "cccd": _l("CCCD (12 digits)"),
    "cmnd": _l("CMND (9 digits)"),
    "passport": _l("Passport"),
    "none": _l("No ID number"),
}

FIELD_LABELS = {
    "full_name": _l("Full name"),
    "sex": _l("Sex"),
    "birth_date": _l("Date of birth"),
    "birth_precision": _l("Birth date precision"),
    "id_number": _l("ID number"),
    "id_kind": _l("ID kind"),
    "nationality": _l("Nationality"),
    "phone": _l("Phone"),
    "commune_id": _l("Commune / ward"),
    "address": _l("Address"),
    "status": _l("Status"),
}

ACTION_LABELS = {
    "person.create": _l("Record created"),
    "person.update": _l("Record changed"),
    "dose.create": _l("Dose recorded"),
    "records.bulk_create": _l("Records created in bulk"),
}


def id_kind_label(kind) -> str:
    return str(ID_KIND_LABELS.get(getattr(kind, "value", kind), kind))


def field_label(name: str) -> str:
    if name.startswith("dose_") and "." in name:
        number, _, attribute = name.partition(".")
        return f"{_l('Dose')} {number[5:]} · {attribute}"
    return str(FIELD_LABELS.get(name, name))


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
