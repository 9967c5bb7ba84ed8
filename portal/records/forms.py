from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.core.forms import PortalForm
from portal.records.models import PersonStatus

STATUS_LABELS = {
    PersonStatus.UNVERIFIED: _l("Not yet verified"),
    PersonStatus.MISSING_ID: _l("No ID number"),
    PersonStatus.INVALID_ID: _l("Malformed ID number"),
    PersonStatus.MISMATCH: _l("Differs from the register"),
    PersonStatus.NOT_FOUND: _l("Not found in the register"),
    PersonStatus.MATCHED: _l("Matches the register"),
    PersonStatus.VERIFIED: _l("Verified by police"),
    PersonStatus.CONFIRMED: _l("Confirmed"),
    PersonStatus.NEEDS_RECONFIRMATION: _l("Needs re-confirmation"),
    PersonStatus.EXEMPT: _l("Exempt (foreign national)"),
}

SORTS = {
    "name": _l("Name (A to Z)"),
    "-name": _l("Name (Z to A)"),
    "birth": _l("Date of birth (oldest first)"),
    "-birth": _l("Date of birth (youngest first)"),
}


class RecordFilterForm(PortalForm):
    """The list's GET form: it also works as a plain form without JavaScript."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Name or ID number"),
        validators=[Optional(), Length(max=100, message=_l("The search is too long."))],
    )
    status = SelectField(_l("Status"), validate_choice=True, default="")
    commune = SelectField(_l("Commune / ward"), validate_choice=True, default="")
    site = SelectField(_l("Vaccination site"), validate_choice=True, default="")
    sort = SelectField(_l("Sort by"), validate_choice=True, default="name")
    after = HiddenField()
    before = HiddenField()

    def set_choices(self, communes, sites) -> None:
        self.status.choices = [SelectChoice("", _l("All statuses"))] + [
            SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()
        ]
        self.commune.choices = [SelectChoice("", _l("All communes"))] + [
            SelectChoice(a.code, a.name) for a in communes
        ]
        self.site.choices = [SelectChoice("", _l("All sites"))] + [
            SelectChoice(s.code, s.name) for s in sites
        ]
        self.sort.choices = [SelectChoice(k, v) for k, v in SORTS.items()]
