from flask_babel import lazy_gettext as _l
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

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


ROLE_LABELS = {
    "police": _l("Commune police"),
    "health_station": _l("Health station"),
    "committee": _l("Commune committee"),
    "vaccination_site": _l("Vaccination site"),
    "health_authority": _l("Health authority"),
    "admin": _l("Administrator"),
}


def role_label(role) -> str:
    return str(ROLE_LABELS.get(getattr(role, "value", role), role))
