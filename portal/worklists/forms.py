from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SearchField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.core.forms import PortalForm
from portal.core.ids import coerce_id
from portal.worklists.models import WorklistKind
from portal.worklists.services import ReviewAction

DIFFERENCE_LABELS = {
    "": _l("All differences"),
    "name": _l("Name differs"),
    "name_diacritics": _l("— only by diacritics"),
    "name_typo": _l("— by a small typo"),
    "name_different": _l("— a different name"),
    "birth": _l("Date of birth differs"),
    "birth_lower_precision": _l("— record less precise (year only)"),
    "birth_swapped": _l("— day and month swapped"),
    "birth_different": _l("— a different date"),
    "sex": _l("Sex differs"),
    "not_found": _l("Not found in the register"),
}

ACTION_LABELS = {
    ReviewAction.VERIFIED_IN_PERSON: _l("Identity verified in person"),
    ReviewAction.REGISTER_IS_RIGHT: _l("Register is right: the record must be corrected"),
    ReviewAction.RECORD_IS_RIGHT: _l("Record is right: the register must be updated"),
}

# A decision as the list that holds it shows it (verified in person leaves the list).
DECISION_LABELS = {
    WorklistKind.CORRECTION: ACTION_LABELS[ReviewAction.REGISTER_IS_RIGHT],
    WorklistKind.REGISTER_UPDATE: ACTION_LABELS[ReviewAction.RECORD_IS_RIGHT],
}


class ReviewFilterForm(PortalForm):
    class Meta:
        csrf = False

    decided = SelectField(
        _l("Decision state"),
        choices=[
            SelectChoice("open", _l("To decide")),
            SelectChoice("decided", _l("Decided")),
            SelectChoice("all", _l("All")),
        ],
        default="open",
        validate_choice=True,
    )
    difference = SelectField(
        _l("Difference"),
        choices=[SelectChoice(k, v) for k, v in DIFFERENCE_LABELS.items()],
        default="",
        validate_choice=True,
    )
    q = SearchField(
        _l("Name or ID number"),
        validators=[Optional(), Length(max=100, message=_l("The search is too long."))],
    )
    after = HiddenField()
    before = HiddenField()


class ReviewActionForm(PortalForm):
    person_ids = SelectMultipleField(
        _l("Persons"),
        coerce=coerce_id,
        validate_choice=False,
        validators=[DataRequired(_l("Select at least one person."))],
    )
    # No default: a decision is what the officer chose, never the first of the list.
    action = SelectField(
        _l("Decision"),
        choices=[SelectChoice("", _l("— Choose the decision —"))]
        + [SelectChoice(a.value, label) for a, label in ACTION_LABELS.items()],
        default="",
        validators=[DataRequired(_l("Choose the decision for the selected persons."))],
    )
    note = TextAreaField(
        _l("Note (documents seen, what differs)"),
        validators=[DataRequired(_l("A note is required for every decision.")), Length(max=1000)],
    )


class DecisionFilterForm(PortalForm):
    """The search of a decision list (corrections, register updates): a GET form. Its
    ``state`` choices are the list's own: set them before validating."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("Name or ID number"),
        id="decision-q",
        validators=[Optional(), Length(max=100)],
        render_kw={"maxlength": 100, "autocomplete": "off"},
    )
    state = SelectField(_l("Show"), id="decision-state", choices=[], default="open")
    after = HiddenField()
    before = HiddenField()

    def search_fields(self) -> list:
        return [self.q, self.state]

    def values(self) -> tuple[str, str]:
        """The search and the state as the list reads them: a value in error counts as
        left empty, so that the list still shows beside the field's message."""
        q = "" if self.q.errors else (self.q.data or "").strip()
        state = "open" if self.state.errors else self.state.data or "open"
        return q, state
