from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, StopValidation, ValidationError

from portal.core.forms import DayField, PortalForm
from portal.dashboard.labels import METRIC_LABELS


class _DayRequired(DataRequired):
    """A day must be given; one that could not be read keeps its own message (DataRequired
    would put "give the date" in its place)."""

    def __call__(self, form, field) -> None:
        if field.process_errors:
            raise StopValidation()
        super().__call__(form, field)


class TargetForm(PortalForm):
    title = StringField(
        _l("Title"),
        validators=[
            DataRequired(message=_l("Give the deadline a title.")),
            Length(max=200, message=_l("The title is too long.")),
        ],
    )
    area = SelectField(_l("Area"), validate_choice=True)
    metric = SelectField(
        _l("What must be done"),
        validate_choice=True,
        choices=[SelectChoice(m.value, label) for m, label in METRIC_LABELS.items()],
    )
    due_on = DayField(
        _l("Due date (dd/mm/yyyy)"), validators=[_DayRequired(message=_l("Give the due date."))]
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_due_on(self, field) -> None:
        if self.today is not None and field.data < self.today:
            raise ValidationError(_l("The due date is in the past."))
