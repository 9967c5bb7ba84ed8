"""The signing domain's words: its audit actions, the kinds and states of signed documents
and minutes, and the verdicts of a check, shared by the pages and the command line.
Gathered by core.labels."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from portal.core.accounts import SigningMethod
from portal.signing.models import BatchState, DocumentKind, DocumentState, MinutesState

# How a person signs (issue 17), as the accounts page and the signing pages name it.
METHOD_LABELS = {
    SigningMethod.CSC: _l("Remote signing (CSC provider)"),
    SigningMethod.BROWSER: _l("Key in the browser"),
    SigningMethod.SERVER: _l("Key held on the portal's server"),
}

KIND_LABELS = {
    DocumentKind.COMMITTEE_LIST: _l("Committee confirmation list"),
    DocumentKind.HANDOVER_LIST: _l("Police handover list"),
    DocumentKind.SITE_DAILY: _l("Vaccination site daily list"),
    DocumentKind.CERTIFICATE: _l("Vaccination certificate"),
    DocumentKind.MINUTES: _l("Minutes (scan)"),
}

ACTIONS = {
    "document.sign": _l("Document signed"),
    "signing.method": _l("Signing method set"),
    "document.verify": _l("Signed document verified"),
    "document.revoke": _l("Signed document revoked"),
    # The record's history: a signed document that holds the person, by its kind.
    "document.sign.committee_list": _l("Confirmed: committee list signed"),
    "document.sign.handover_list": _l("Handover list signed by the police"),
    "document.sign.site_daily": _l("Confirmed: vaccination site daily list signed"),
    "document.sign.certificate": _l("Vaccination certificate signed"),
    "document.sign.minutes": _l("Confirmed by signed minutes"),
    "minutes.print": _l("Minutes printed"),
    "minutes.upload": _l("Scan of signed minutes uploaded"),
    "minutes.confirm": _l("Persons confirmed by minutes"),
    "signing.prepare": _l("Sign dialog opened (its list kept)"),
    "signing.pin_refused": _l("Signing refused: wrong PIN"),
    "signing.refused": _l("Signing refused"),
    "signing.credential_add": _l("Signing certificate added"),
    "signing.browser_prepare": _l("Document prepared for the key in the browser"),
    "signing.credential_locked": _l("Signing key locked after wrong PINs"),
    "signing.credential_unlocked": _l("Signing key unlocked"),
    "signing.certificate_revoked": _l("Signing certificate revoked (demo PKI)"),
    # Signing confirms a person; a change to the person's identity takes it back.
    "person.supersede_confirmation": _l("Confirmation superseded by a change"),
}

ENTITIES = {
    "signed_document": _l("Signed document"),
    "signing_batch": _l("Sign dialog's list"),
    "minutes": _l("Minutes"),
}

FIELDS = {
    "documents": _l("Signed documents affected"),
    "document": _l("Signed document"),
    "document_id": _l("Signed document"),
    "document_state": _l("Document state"),
    "signer": _l("Signer"),
    "serial": _l("Certificate serial"),
    "certificate_serial": _l("Certificate serial"),
    "certificate_subject": _l("Certificate"),
    "subject": _l("Certificate"),
    "backend": _l("Where the key is kept"),
    "method": _l("Signing method"),
    "signing_method": _l("Signing method"),
    "provider": _l("Remote-signing provider"),
    "demo": _l("Demonstration certificate"),
    "failed_pins": _l("Wrong PINs in a row"),
    "locked": _l("Signing key locked"),
    "revoked_since": _l("Certificate revoked since"),
    "evidence": _l("Evidence of the check"),
    "frozen_sha256": _l("SHA-256 of the list as signed"),
    "scan_sha256": _l("Scan SHA-256"),
    "media_type": _l("File type"),
    "bytes": _l("Size (bytes)"),
    "search": _l("Search"),
    "confirmed": _l("Persons confirmed"),
    "skipped": _l("Persons left out"),
    "ok": _l("Signature valid"),
    "worklist_id": _l("List"),
    "key": _l("Key"),
    "prepared_id": _l("Prepared signature"),
    "prepared_sha256": _l("SHA-256 of the prepared document"),
}

DOCUMENT_STATE_LABELS = {
    "valid": _l("valid"),
    "revoked": _l("revoked"),
    "superseded": _l("replaced by a later confirmation"),
}
MINUTES_STATE_LABELS = {
    MinutesState.PRINTED: _l("Printed, awaiting the signed scan"),
    MinutesState.UPLOADED: _l("Scan uploaded, awaiting confirmation"),
    MinutesState.CONFIRMED: _l("Confirmed"),
}
BATCH_STATE_LABELS = {
    BatchState.OPEN: _l("open, not signed yet"),
    BatchState.SIGNED: _l("signed"),
}
BACKEND_LABELS = {
    "pkcs12": _l("encrypted key file (PKCS#12)"),
    "pkcs11": _l("token or HSM (PKCS#11)"),
    "csc": _l("at a remote-signing provider (CSC API)"),
    "browser": _l("a key kept in the signer's browser"),
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
# The states its events write: a document's (valid → revoked), minutes', a sign dialog's.
STATES: dict[Any, Any] = {
    DocumentState.VALID: DOCUMENT_STATE_LABELS["valid"],
    DocumentState.REVOKED: DOCUMENT_STATE_LABELS["revoked"],
    **MINUTES_STATE_LABELS,
    **BATCH_STATE_LABELS,
}
VALUES = {
    "kind": KIND_LABELS,
    "document_state": DOCUMENT_STATE_LABELS,
    "state": STATES,
    "backend": BACKEND_LABELS,
    "method": METHOD_LABELS,
    "signing_method": METHOD_LABELS,
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


# What changed on a record since the minutes were printed or the sign dialog showed it (the
# reason it is skipped). Not the events' FIELDS: a signer reads a birth date and its precision
# as one "date of birth", a register check's outcome as the record's status (each name is
# shown once).
CHANGED_FIELD_LABELS = {
    "full_name": _l("Full name"),
    "sex": _l("Sex"),
    "birth_date": _l("Date of birth"),
    "birth_precision": _l("Date of birth"),
    "id_number": _l("ID number"),
    "status": _l("Status"),
    "doses": _l("Doses"),
    "dose_number": _l("Dose"),
    "vaccine": _l("Vaccine"),
    "vaccine_code": _l("Vaccine"),
    "lot": _l("Lot"),
    "outcome": _l("Status"),
}
