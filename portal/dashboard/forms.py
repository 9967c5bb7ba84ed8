from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from portal.core import dates
from portal.core.forms import PortalForm
from portal.dashboard.labels import METRIC_LABELS


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
    due_on = StringField(
        _l("Due date (dd/mm/yyyy)"), validators=[DataRequired(message=_l("Give the due date."))]
    )

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def validate_due_on(self, field) -> None:
        day = dates.day(field.data)
        if day is None:
            raise ValidationError(dates.WRITE_A_DAY)
        if self.today is not None and day < self.today:
            raise ValidationError(_l("The due date is in the past."))
        field.parsed = day
