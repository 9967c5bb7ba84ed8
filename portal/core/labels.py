"""Human names, in the user's language, for codes stored in the database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l

from portal.core.clock import format_minute

K = TypeVar("K")

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
    "match_outcome": _l("Register check"),
    "dose_number": _l("Dose number"),
    "vaccine": _l("Vaccine"),
    "lot": _l("Lot"),
    "vaccinated_on": _l("Vaccination date"),
    "site_id": _l("Vaccination site"),
    "identity_acknowledged": _l("Identity differences acknowledged"),
    "worklist": _l("List"),
    "documents": _l("Signed documents affected"),
    "document": _l("Signed document"),
    "document_state": _l("Document state"),
    "filename": _l("File"),
    # The fields of the other records the trail holds (complaints, lists, documents, imports).
    "answered_at": _l("Answered at"),
    "unit_kind": _l("Handling unit"),
    "unit_area_id": _l("Handling unit's area"),
    "unit_site_id": _l("Handling site"),
    "area_id": _l("Area"),
    "rows": _l("Rows"),
    "kind": _l("Kind"),
    "state": _l("State"),
    "members": _l("Persons listed"),
    "persons": _l("Persons"),
    "person_ids": _l("Persons"),
    "format": _l("File format"),
    "source": _l("Source file"),
    "filters": _l("Filters"),
    "signer": _l("Signer"),
    "serial": _l("Certificate serial"),
    "certificate_serial": _l("Certificate serial"),
    "certificate_subject": _l("Certificate"),
    "subject": _l("Certificate"),
    "inserted": _l("Entries added"),
    "updated": _l("Entries changed"),
    "unchanged": _l("Entries unchanged"),
    # The register's changed entries, one line each (registry.extract, issue 14 item 1).
    "entries": _l("Register entries (ID|name|sex|birth|precision|commune)"),
    "skipped": _l("Persons left out"),
    "reason": _l("Reason"),
    "role": _l("Role"),
    "day": _l("Day"),
    "failed_pins": _l("Wrong PINs in a row"),
    "locked": _l("Signing key locked"),
    "expires_at": _l("Expires"),
    "revoked_at": _l("Revoked"),
    # Second factors at sign-in (portal/auth/mfa.py).
    "factor": _l("Second factor"),
    "authenticator_app": _l("Authenticator app"),
    "passkey": _l("Passkey"),
    "passkeys": _l("Passkeys"),
    "recovery_codes_left": _l("Unused recovery codes"),
    "required_roles": _l("Roles that must use a second factor"),
}

FACTOR_LABELS = {
    "totp": _l("authenticator app"),
    "passkey": _l("passkey"),
    "recovery_code": _l("recovery code"),
}

AUTHENTICATOR_APP_LABELS = {
    "set_up": _l("set up"),
    "replaced": _l("one set up before"),
}

DOCUMENT_STATE_LABELS = {
    "valid": _l("valid"),
    "revoked": _l("revoked"),
    "superseded": _l("replaced by a later confirmation"),
}

PRECISION_LABELS = {
    "day": _l("day, month and year"),
    "month": _l("month and year only"),
    "year": _l("year only"),
}

SEX_LABELS = {"male": _l("Male"), "female": _l("Female")}


def translated(labels: Mapping[K, Any]) -> dict[K, str]:
    """The labels in the request's language, each translated once: a page that shows a
    label on each of its rows translates each label once, not once a row."""
    return {key: str(label) for key, label in labels.items()}


def sex_label(value) -> str:
    """Nam / Nữ for a stored sex (an enum or its value); empty when unknown."""
    value = getattr(value, "value", value)
    return str(SEX_LABELS[value]) if value in SEX_LABELS else ""

DATE_FIELDS = frozenset({"birth_date", "vaccinated_on"})
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")

ACTION_LABELS = {
    "document.sign": _l("Document signed"),
    "document.verify": _l("Signed document verified"),
    "signing.pin_refused": _l("Signing refused: wrong PIN"),
    "signing.refused": _l("Signing refused"),
    "signing.credential_add": _l("Signing certificate added"),
    "signing.credential_locked": _l("Signing key locked after wrong PINs"),
    "signing.credential_unlocked": _l("Signing key unlocked"),
    "person.supersede_confirmation": _l("Confirmation superseded by a change"),
    "person.create": _l("Record created"),
    "person.update": _l("Record changed"),
    "person.correct": _l("Record corrected"),
    "person.recheck": _l("Checked again against the register"),
    "dose.create": _l("Dose recorded"),
    "records.bulk_create": _l("Records created in bulk"),
    "register.import": _l("Register extract imported"),
    "register.fetch": _l("Register records fetched from the service"),
    "review.verified_in_person": _l("Identity verified in person"),
    "worklist.add_correction": _l("Put on the correction list"),
    "worklist.add_register_update": _l("Reported for a register update"),
    "registry.match": _l("Matched against the population database"),
    "feedback.create": _l("Complaint received"),
    "feedback.route": _l("Complaint routed"),
    "feedback.reassign": _l("Complaint reassigned"),
    "feedback.link": _l("Record linked to the complaint"),
    "feedback.answer": _l("Citizen answered"),
    "feedback.resolved": _l("Complaint resolved"),
    "feedback.rejected": _l("Complaint rejected"),
    "feedback.escalate": _l("Overdue complaints escalated"),
    "feedback.rule": _l("Routing rule changed"),
    "import.upload": _l("Spreadsheet uploaded for import"),
    "import.commit": _l("Spreadsheet imported"),
    "person.imported": _l("Record created by an Excel import"),
    "document.sign.committee_list": _l("Confirmed: committee list signed"),
    "document.sign.handover_list": _l("Handover list signed by the police"),
    "document.sign.site_daily": _l("Confirmed: vaccination site daily list signed"),
    "document.sign.certificate": _l("Vaccination certificate signed"),
    "document.sign.minutes": _l("Confirmed by signed minutes"),
}


def id_kind_label(kind) -> str:
    return str(ID_KIND_LABELS.get(getattr(kind, "value", kind), kind))


def _attribute(name: str) -> tuple[str | None, str]:
    """``dose_2.lot`` -> (``2``, ``lot``); ``full_name`` -> (None, ``full_name``)."""
    if name.startswith("dose_") and "." in name:
        number, _, attribute = name.partition(".")
        return number[5:], attribute
    return None, name


def field_label(name: str) -> str:
    dose, attribute = _attribute(name)
    label = str(FIELD_LABELS.get(attribute, attribute))
    dose_word = _l("Dose")
    return f"{dose_word} {dose} · {label}" if dose else label


def change_value(name: str, value: Any) -> str:
    """A value of the audit trail as the rest of the page shows it: labels, dd/mm/yyyy, names."""
    from portal.areas.models import Area, Site
    from portal.auth.forms import ROLE_LABELS
    from portal.extensions import db
    from portal.feedback.display import KIND_LABELS as COMPLAINT_KIND_LABELS
    from portal.feedback.display import STATUS_LABELS as COMPLAINT_STATUS_LABELS
    from portal.records.forms import STATUS_LABELS
    from portal.signing.labels import KIND_LABELS as DOCUMENT_KIND_LABELS

    if value is None or value == "":
        return "—"
    _, attribute = _attribute(name)
    if isinstance(value, list):
        item_labels: dict[str, Any] = ROLE_LABELS if attribute == "required_roles" else {}
        return "; ".join(str(item_labels.get(item, item)) for item in value) or "—"
    labels: dict[str, Any] = {
        "sex": SEX_LABELS,
        "birth_precision": PRECISION_LABELS,
        "id_kind": ID_KIND_LABELS,
        # A person's and a complaint's statuses share the field name, never a value.
        "status": {**{k.value: v for k, v in STATUS_LABELS.items()},
                   **COMPLAINT_STATUS_LABELS},
        # A match outcome has the value of the status it leads to.
        "match_outcome": {k.value: v for k, v in STATUS_LABELS.items()},
        "document_state": DOCUMENT_STATE_LABELS,
        # A signed document's and a complaint's kinds share the field name, never a value.
        "kind": {**{k.value: v for k, v in DOCUMENT_KIND_LABELS.items()},
                 **COMPLAINT_KIND_LABELS},
        "role": ROLE_LABELS,
        "factor": FACTOR_LABELS,
        "authenticator_app": AUTHENTICATOR_APP_LABELS,
    }.get(attribute, {})
    if value in labels:
        return str(labels[value])
    if attribute in DATE_FIELDS and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if isinstance(value, str) and _ISO_TIME.match(value):
        # A stored (UTC) time: shown in Vietnam time, as every time a person reads.
        return format_minute(datetime.fromisoformat(value))
    if (attribute in ("commune_id", "site_id") or attribute.endswith("area_id")) \
            and isinstance(value, int):
        if attribute != "site_id":
            area = db.session.get(Area, value)
            return area.name if area is not None else str(value)
        site = db.session.get(Site, value)
        return site.name if site is not None else str(value)
    return str(value)


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


JOB_LABELS = {
    "match": _l("Matching against the population database"),
    "register_import": _l("Importing a population register extract"),
    "sign_certificates": _l("Signing vaccination certificates"),
    "records_import_check": _l("Checking a spreadsheet of persons and doses"),
    "records_import_commit": _l("Importing a spreadsheet of persons and doses"),
}

IMPORT_STATE_LABELS = {
    "checking": _l("being checked"),
    "checked": _l("checked, waiting for confirmation"),
    "rejected": _l("refused"),
    "committing": _l("being imported"),
    "committed": _l("imported"),
    "failed": _l("failed"),
}


def import_state_label(state) -> str:
    value = getattr(state, "value", state)
    return str(IMPORT_STATE_LABELS.get(value, value))


def job_label(kind: str) -> str:
    return str(JOB_LABELS.get(kind, kind))


RESULT_LABELS = {
    "identical": _l("identical"),
    "case_or_spacing": _l("only case or spacing"),
    "diacritics": _l("only diacritics"),
    "typo": _l("a small typo"),
    "different": _l("different"),
    "lower_precision": _l("agrees at the lower precision"),
    "day_month_swapped": _l("day and month swapped"),
}


def result_label(value) -> str:
    value = getattr(value, "value", value)
    return str(RESULT_LABELS.get(value, value))


def status_label(value) -> str:
    from portal.records.forms import STATUS_LABELS
    from portal.records.models import PersonStatus

    value = getattr(value, "value", value)
    try:
        return str(STATUS_LABELS[PersonStatus(value)])
    except ValueError:
        return str(value)
