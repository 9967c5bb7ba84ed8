from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

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

    def set_choices(self, communes, sites, statuses=None) -> None:
        self.status.choices = [SelectChoice("", _l("All statuses"))] + [
            SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()
            if statuses is None or s in statuses
        ]
        self.commune.choices = [SelectChoice("", _l("All communes"))] + [
            SelectChoice(a.code, a.name) for a in communes
        ]
        self.site.choices = [SelectChoice("", _l("All sites"))] + [
            SelectChoice(s.code, s.name) for s in sites
        ]
        self.sort.choices = [SelectChoice(k, v) for k, v in SORTS.items()]


VACCINES = (
    "Pfizer-BioNTech (Comirnaty)",
    "AstraZeneca (Vaxzevria)",
    "Moderna (Spikevax)",
    "Vero Cell (Sinopharm)",
    "Sputnik V",
    "Hayat-Vax",
    "Abdala",
    "Janssen",
)


def parse_day(value: str | None):
    """dd/mm/yyyy (as typed in the office) or yyyy-mm-dd; None when unreadable."""
    from datetime import date

    text = (value or "").strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
        else:
            year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day) if year >= 1900 else None
    except ValueError:
        return None


class DoseForm(PortalForm):
    dose_number = IntegerField(
        _l("Dose number"),
        validators=[DataRequired(_l("Enter the dose number.")),
                    NumberRange(1, 10, _l("The dose number is between 1 and 10."))],
    )
    vaccine = SelectField(
        _l("Vaccine"),
        choices=[SelectChoice(v, v) for v in VACCINES],
        validators=[DataRequired()],
    )
    lot = StringField(_l("Lot"), validators=[Optional(), Length(max=40)])
    vaccinated_on = StringField(
        _l("Vaccination date (dd/mm/yyyy)"),
        validators=[DataRequired(_l("Enter the vaccination date."))],
        render_kw={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"},
    )
    acknowledge = BooleanField(
        _l("I have checked the person's documents: save the dose despite the differences")
    )
