from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SearchField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from portal.auth.labels import ROLE_LABELS
from portal.auth.passwords import MIN_PASSWORD_LENGTH
from portal.core.accounts import NATION_WIDE
from portal.core.forms import PortalForm


class LoginForm(PortalForm):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Enter your username.")), Length(max=80)],
        render_kw={"autocomplete": "username", "autofocus": True},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


# Roles an administrator gives on the accounts page; a national administrator works
# nation-wide and is appointed from the command line only (issue 14, item 1).
PLACEABLE_ROLES = {
    value.value: label for value, label in ROLE_LABELS.items() if value not in NATION_WIDE
}


class AccountFields(PortalForm):
    """What an administrator sets on an account; the choices come from the route (the
    areas and sites of the administrator's province)."""

    display_name = StringField(
        _l("Full name and title"),
        validators=[DataRequired(_l("Give the person's name.")), Length(max=200)],
    )
    role = SelectField(
        _l("Role"),
        validate_choice=True,
        choices=[SelectChoice(value, label) for value, label in PLACEABLE_ROLES.items()],
    )
    area = SelectField(_l("Area"), validate_choice=True)
    site = SelectField(_l("Vaccination site (site staff only)"), validate_choice=True)


PASSWORD_HINT = _l(
    "At least %(n)d characters, not a common or easily guessed password: three "
    "or four words that do not belong together are easy to remember.",
    n=MIN_PASSWORD_LENGTH,
)


class NewAccountForm(AccountFields):
    username = StringField(
        _l("Username"),
        validators=[DataRequired(_l("Choose a username.")), Length(max=80)],
        render_kw={"autocomplete": "off"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Choose a password."))],
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class EditAccountForm(AccountFields):
    active = BooleanField(_l("Active (may log in)"))


class PasswordForm(PortalForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a password."))],
        description=PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[EqualTo("password", _l("The two passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


# --- second factors (portal/auth/mfa.py) ----------------------------------------------------

ONE_TIME_CODE = {"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}


class SecondFactorForm(PortalForm):
    """The second step of signing in: an app's code or a recovery code (the label says
    which the user has)."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Type the code.")), Length(max=40)],
        render_kw={**ONE_TIME_CODE, "autofocus": True},
    )


class AppSetupForm(PortalForm):
    code = StringField(
        _l("The 6-digit code the app shows now"),
        validators=[DataRequired(_l("Type the code the app shows.")), Length(max=20)],
        render_kw={**ONE_TIME_CODE, "inputmode": "numeric"},
    )


class PasskeyForm(PortalForm):
    """Filled by static/js/passkey.js: the browser's answer, as JSON."""

    name = StringField(
        _l("A name for this passkey (optional)"),
        validators=[Length(max=100)],
        render_kw={"autocomplete": "off"},
    )
    credential = HiddenField()


class CurrentPasswordForm(PortalForm):
    password = PasswordField(
        _l("Your current password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class NewPasskeyForm(PasskeyForm):
    """On the security page, the current password comes with the passkey's name."""

    password = PasswordField(
        _l("Your current password"),
        validators=[Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


ACCOUNT_STATES = {"active": _l("Active"), "inactive": _l("Deactivated"), "all": _l("All")}


def _stripped(value: str | None) -> str:
    return (value or "").strip()


class AccountFilterForm(PortalForm):
    """The accounts list's search (a GET form). The areas are the administrator's: set
    ``area.choices`` before validating."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Username or name"),
        id="accounts-q",
        filters=[_stripped],
        validators=[Optional(), Length(max=100)],
        render_kw={"maxlength": 100, "autocomplete": "off"},
    )
    role = SelectField(
        _l("Role"),
        id="accounts-role",
        choices=[SelectChoice("", _l("All"))]
        + [SelectChoice(value, label) for value, label in PLACEABLE_ROLES.items()],
        default="",
    )
    area = SelectField(_l("Area"), id="accounts-area", choices=[], default="")
    state = SelectField(
        _l("State"),
        id="accounts-state",
        choices=[SelectChoice(value, label) for value, label in ACCOUNT_STATES.items()],
        default="active",
    )

    FILTERS = ("q", "role", "area", "state")

    def search_fields(self) -> list:
        return [self[name] for name in self.FILTERS]

    def values(self) -> dict[str, str]:
        """The search as the list reads it: a field in error counts as left at its
        default, so that the list still shows beside the field's message."""
        return {
            name: (self[name].default if self[name].errors else self[name].data) or ""
            for name in self.FILTERS
        }

    def args(self) -> dict[str, str]:
        """The search as query values, for the export's and the pages' links."""
        return {name: value for name, value in self.values().items() if value}
