"""The vaccine passport's words: why a person is not issued one, and a verification's
verdict, in the reader's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.passport.hcert import Verdict
from portal.passport.payload import Reason

ACTIONS = {
    "passport.signer_added": _l("Added a vaccine passport Document Signer"),
    "passport.issued": _l("Issued a vaccine passport"),
    "passport.revoked": _l("Revoked a vaccine passport"),
}
ENTITIES = {"dcc_signer": _l("Vaccine passport Document Signer")}
FIELDS = {
    "passport": _l("Vaccine passport (UVCI)"),
    "kid": _l("Key identifier (kid)"),
    "key_label": _l("Key label in the token"),
}

REASON_LABELS = {
    Reason.NO_DOSE: _l("No dose recorded"),
    Reason.INCOMPLETE: _l("The dose series is not complete"),
    Reason.UNKNOWN_PRODUCT: _l("A dose's vaccine has no EU DCC code"),
    Reason.NAME_NOT_LATIN: _l("The name has characters outside the ICAO 9303 transliteration"),
    Reason.BIRTH_DATE: _l("The date of birth is outside 1900-2099"),
    Reason.INVALID: _l("The certificate does not pass the EU DCC schema"),
    Reason.NOT_CONFIRMED: _l("Not confirmed by a signed list or minutes"),
}

VERDICT_LABELS = {
    Verdict.VALID: _l("Valid vaccine passport"),
    Verdict.NOT_DCC: _l("This is not a vaccine passport (EU DCC) code, or it is damaged."),
    Verdict.UNKNOWN_KEY: _l("Signed by a key that is not in the trust list."),
    Verdict.BAD_SIGNATURE: _l("The signature does not match: the passport was altered."),
    Verdict.NOT_YET_VALID: _l("The passport is not valid yet."),
    Verdict.EXPIRED: _l("The passport has expired."),
    Verdict.REVOKED: _l("The passport has been revoked."),
    Verdict.INVALID_PAYLOAD: _l("The passport's content does not follow the EU DCC schema."),
}


def reason_label(reason: Reason | str) -> str:
    return str(REASON_LABELS.get(Reason(reason), reason))


def verdict_label(verdict: Verdict | str) -> str:
    return str(VERDICT_LABELS.get(Verdict(verdict), verdict))
