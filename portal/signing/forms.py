"""The signing pages' forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    HiddenField,
    PasswordField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import DayField, PortalForm
from portal.records.models import PersonStatus

STATUS_CHOICES = [SelectChoice("", _l("All"))] + [
    SelectChoice(s.value, label)
    for s, label in (
        (PersonStatus.MATCHED, _l("Matched")),
        (PersonStatus.VERIFIED, _l("Verified")),
        (PersonStatus.NEEDS_RECONFIRMATION, _l("Needs re-confirmation")),
    )
]


class AwaitingFilterForm(PortalForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Basis"), choices=STATUS_CHOICES, default="", validate_choice=True)
    q = SearchField(_l("Name or ID number"), validators=[Optional(), Length(max=100)])
    day = DayField(_l("Day"))

    def without_errors(self) -> AwaitingFilterForm:
        """The form with each value in error left out of the search (as typed on the page,
        beside its message), so that the list still shows."""
        for field in (self.status, self.q, self.day):
            if field.errors:
                field.data = field.default
        return self


class SignForm(PortalForm):
    pin = PasswordField(_l("PIN of your signing key"), validators=[DataRequired(), Length(max=64)])
    # Asked only when the remote-signing provider's credential wants one (its authMode).
    otp = PasswordField(
        _l("One-time code (OTP)"),
        validators=[Optional(), Length(max=64)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class SigningMethodForm(PortalForm):
    """The administrator's choice of how an account signs; the choices come from the route
    (a key held on the server only where SIGNING_ALLOW_SERVER_KEYS allows it)."""

    method = SelectField(_l("Signing method"), validate_choice=True)


class CscLinkForm(PortalForm):
    """Link an account to a remote-signing provider's credential."""

    provider_url = StringField(
        _l("Provider address (CSC API)"),
        validators=[DataRequired(_l("Give the provider's address.")), Length(max=300)],
        render_kw={"placeholder": "https://…", "autocomplete": "off"},
    )
    credential_id = StringField(
        _l("Credential ID at the provider"),
        validators=[DataRequired(_l("Give the credential ID.")), Length(max=200)],
        render_kw={"autocomplete": "off"},
    )
    title = StringField(
        _l("Title shown in the stamp"),
        validators=[DataRequired(_l("Give the title.")), Length(max=120)],
    )
    unit = StringField(
        _l("Unit shown in the stamp"),
        validators=[DataRequired(_l("Give the unit.")), Length(max=200)],
    )


class OpenDialogForm(PortalForm):
    """Opening the sign dialog: the page's filter, to list exactly what the page shows."""

    status = HiddenField()
    q = HiddenField()
    day = HiddenField()


class MinutesForm(PortalForm):
    scan = FileField(
        _l("Scan of the signed minutes (PDF, JPEG or PNG)"), validators=[DataRequired()]
    )


class MinutesPrintForm(PortalForm):
    status = HiddenField()
    q = HiddenField()


class MinutesConfirmForm(PortalForm):
    """Only the CSRF token: what is confirmed is the minutes' own list."""


class UnlockCredentialForm(PortalForm):
    """Only the CSRF token: the account's locked signing key is unlocked."""


class RevokeForm(PortalForm):
    reason = TextAreaField(
        _l("Reason for revoking"),
        validators=[
            DataRequired(_l("Give the reason for revoking the document.")),
            Length(max=500),
        ],
    )


class VerifyForm(PortalForm):
    document = FileField(_l("Signed PDF"), validators=[DataRequired()])


class BrowserKeyForm(PortalForm):
    """A browser's certificate request (PKCS#10, DER in base64), sent by
    static/js/portal-signer.js."""

    csr = HiddenField(validators=[DataRequired(), Length(max=12000)])


class BrowserPrepareForm(PortalForm):
    """Prepare the dialog's document for the key in the browser (the CSRF token only)."""


class BrowserFinishForm(PortalForm):
    """The browser's signature of the prepared signed attributes (base64: ECDSA as
    WebCrypto's r||s or DER, RSA as it is) and the SHA-256 of the prepared document."""

    signature = HiddenField(validators=[DataRequired(), Length(max=2000)])
    document_sha256 = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])
