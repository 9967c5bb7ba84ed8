"""Words for the states and verdicts of signed documents, shared by the pages and the
command line."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.signing.models import DocumentKind

KIND_LABELS = {
    DocumentKind.COMMITTEE_LIST: _l("Committee confirmation list"),
    DocumentKind.HANDOVER_LIST: _l("Police handover list"),
    DocumentKind.SITE_DAILY: _l("Vaccination site daily list"),
    DocumentKind.CERTIFICATE: _l("Vaccination certificate"),
    DocumentKind.MINUTES: _l("Minutes (scan)"),
}

STATE_LABELS = {
    "valid": _l("Valid"),
    "partly_superseded": _l("Valid, except for persons whose record changed after signing"),
    "superseded": _l("Superseded: every person's record changed after signing"),
    "revoked": _l("Revoked"),
}
VERDICT_MESSAGES = {
    "not_pdf": _l("This file is not a PDF."),
    "encrypted": _l("This PDF is encrypted; it cannot be checked."),
    "damaged": _l("This PDF is damaged; it cannot be read."),
    "unsigned": _l("This PDF carries no digital signature."),
}
# pyHanko's modification levels, named for a reader (never "(OTHER)" / "(NONE)").
MODIFICATION_LABELS = {
    "NONE": _l("the signature does not cover the whole file"),
    "LTA_UPDATES": _l("validation data added"),
    "FORM_FILLING": _l("form fields filled in"),
    "ANNOTATIONS": _l("comments or annotations added"),
    "OTHER": _l("the content was changed"),
}


def modification_text(level: str | None) -> str:
    return str(MODIFICATION_LABELS.get(level or "OTHER", MODIFICATION_LABELS["OTHER"]))
