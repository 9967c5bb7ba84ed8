from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from portal.core.forms import PortalForm
from portal.core.labels import field_label, sex_label, translated
from portal.records import rules, vaccines
from portal.records.corrections import PRECISION_LABELS
from portal.records.labels import STATUS_GROUP_LABELS, STATUS_LABELS

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
        # Each label translated once, here (a lazy label would be translated each time the
        # select is drawn).
        labels = translated(STATUS_LABELS)
        self.status.choices = (
            [SelectChoice("", _("All statuses"))]
            + [
                SelectChoice(s.value, labels[s])
                for s in STATUS_LABELS
                if statuses is None or s in statuses
            ]
            + [
                SelectChoice(key, label)
                for key, label in translated(STATUS_GROUP_LABELS).items()
                if statuses is None
            ]
        )
        self.commune.choices = [SelectChoice("", _("All communes"))] + [
            SelectChoice(a.code, a.name) for a in communes
        ]
        self.site.choices = [SelectChoice("", _("All sites"))] + [
            SelectChoice(s.code, s.name) for s in sites
        ]
        self.sort.choices = [SelectChoice(k, v) for k, v in translated(SORTS).items()]


def vaccine_choices() -> list[SelectChoice]:
    """The products of the catalogue, after an empty first choice: a dose's vaccine is
    chosen, never taken by default."""
    return [SelectChoice("", _l("Choose the vaccine"))] + [
        SelectChoice(p.code, p.name) for p in vaccines.catalogue().products
    ]


def follows(rule: Callable[[Any], Any], optional: bool = False):
    """A WTForms validator that applies a rule of ``records.rules``: the value the rule
    gives (a code, a date) is put on the field as ``parsed`` (the data stays as typed, to
    be shown again), or the rule's message is the field's error. ``optional``: a blank
    field passes, parsed as None."""

    def check(form, field) -> None:
        field.parsed = None
        if optional and (field.data is None or not str(field.data).strip()):
            raise StopValidation()
        value = rule(field.data)
        if rules.refused(value):
            raise StopValidation(str(value))
        field.parsed = value

    return check


def parsed(field) -> Any:
    """What ``follows`` read from a validated field."""
    return getattr(field, "parsed", None)


class DoseForm(PortalForm):
    dose_number = StringField(
        _l("Dose number"),
        validators=[follows(rules.dose_number)],
        render_kw={"inputmode": "numeric"},
    )
    # The rule, not the list, decides: it reads a code or any known spelling.
    vaccine = SelectField(
        _l("Vaccine"),
        validate_choice=False,
        validators=[DataRequired(_l("Choose the vaccine.")), follows(rules.vaccine)],
    )
    lot = StringField(_l("Lot"), validators=[Optional(), Length(max=40)])
    vaccinated_on = StringField(
        _l("Vaccination date (dd/mm/yyyy)"),
        validators=[follows(rules.vaccination_date)],
        render_kw={"placeholder": "dd/mm/yyyy", "inputmode": "numeric"},
    )
    acknowledge = BooleanField(
        _l("I have checked the person's documents: save the dose despite the differences")
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.vaccine.choices = vaccine_choices()


class IdentityEditorForm(PortalForm):
    """The inputs of the inline identity editor (records/_identity.html), for the field
    macros to write: the editor is read and checked by ``records.corrections.parse`` (the
    record rules), not by this form. One editor per person on a page: the ids carry the
    person's (the template passes them), the names stay the field's."""

    class Meta:
        csrf = False  # the editor's form writes its token itself

    full_name = StringField()
    sex = SelectField(choices=[])
    birth_date = StringField()
    birth_precision = SelectField(_l("Birth date precision"), choices=[])
    id_number = StringField()
    nationality = StringField()
    phone = StringField()
    reason = StringField(_l("Reason for the change"))


def identity_editor(data: dict[str, str], reason: str, errors: dict[str, str]):
    """The editor's inputs holding ``data`` and ``reason``, each with its message."""
    form = IdentityEditorForm(formdata=None, data={**data, "reason": reason})
    for name in ("full_name", "birth_date", "id_number", "nationality", "phone", "sex"):
        form[name].label.text = field_label(name)
    form.sex.choices = [SelectChoice(value, sex_label(value)) for value in ("male", "female")]
    form.birth_precision.choices = [
        SelectChoice(value, label) for value, label in PRECISION_LABELS.items()
    ]
    for name, message in errors.items():
        form[name].errors = [message]
    return form
