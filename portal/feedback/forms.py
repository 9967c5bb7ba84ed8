from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    EmailField,
    HiddenField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from portal.core.forms import PortalForm
from portal.feedback import services
from portal.feedback.labels import KIND_LABELS, QUEUE_SCOPE_LABELS, QUEUE_STATE_LABELS
from portal.feedback.models import FeedbackKind
from portal.feedback.queries import QueueFilters
from portal.records import rules
from portal.records.forms import follows, parsed, vaccine_choices

# A text box: a browser's date picker would send yyyy-mm-dd, not dd/mm/yyyy.
DATE_INPUT = {"type": "text", "placeholder": "dd/mm/yyyy", "inputmode": "numeric"}


def _full_birth_date(raw):
    """The complaint's date of birth is the citizen's key to its status: a whole date."""
    return rules.birth_date(raw, full=True)


def _complaint_id_number(raw):
    found = rules.id_number(raw)
    return found if rules.refused(found) else found.number


class FeedbackForm(PortalForm):
    """Each person and dose field follows ``records.rules``, as every entry point does."""

    full_name = StringField(_l("Full name"), validators=[follows(rules.full_name)])
    id_number = StringField(
        _l("ID number (CCCD/CMND)"),
        # No Length before the rule: it reads "001 . 085 . 012 . 345" as every entry point
        # does, and what it stores fits the column.
        validators=[follows(_complaint_id_number, optional=True)],
    )
    birth_date = StringField(
        _l("Date of birth"), validators=[follows(_full_birth_date)], render_kw=DATE_INPUT
    )
    phone = StringField(
        _l("Phone number"),
        validators=[
            DataRequired(_l("Enter your phone number.")),
            follows(rules.phone),
        ],
    )
    email = EmailField(
        _l("E-mail (optional)"),
        validators=[
            Optional(),
            Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("This is not an e-mail address.")),
            Length(max=200),
        ],
    )
    kind = SelectField(
        _l("What is wrong"),
        choices=[SelectChoice(k.value, v) for k, v in KIND_LABELS.items()],
        validators=[DataRequired(_l("Choose what is wrong."))],
    )
    # The places are pick-lists filled from the database; the service checks the codes.
    province = SelectField(_l("Province / city"), validate_choice=False)
    district = SelectField(_l("District (old, if your record has one)"), validate_choice=False)
    commune = SelectField(_l("Commune / ward"), validate_choice=False)
    site = SelectField(_l("Vaccination site"), validate_choice=False)
    dose_number = StringField(
        _l("Dose number"),
        validators=[follows(rules.dose_number, optional=True)],
        render_kw={"inputmode": "numeric"},
    )
    vaccine = SelectField(
        _l("Vaccine"), validate_choice=False, validators=[follows(rules.vaccine, optional=True)]
    )
    vaccinated_on = StringField(
        _l("Vaccination date"),
        validators=[follows(rules.vaccination_date, optional=True)],
        render_kw=DATE_INPUT,
    )
    description = TextAreaField(
        _l("Describe the problem"),
        validators=[
            DataRequired(_l("Describe the problem.")),
            Length(10, 2000, _l("Between 10 and 2000 characters.")),
        ],
    )
    attachment = FileField(_l("Photo or scan of your paper certificate (JPEG, PNG or PDF)"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.vaccine.choices = [SelectChoice("", _l("Not known"))] + vaccine_choices()[1:]

    def submission(self) -> services.Submission:
        upload = self.attachment.data
        data = upload.read() if upload and getattr(upload, "filename", "") else None
        return services.Submission(
            full_name=parsed(self.full_name),
            birth_date=parsed(self.birth_date)[0],
            phone=parsed(self.phone),
            kind=FeedbackKind(self.kind.data),
            description=self.description.data,
            id_number=parsed(self.id_number),
            email=self.email.data or None,
            province_code=self.province.data or None,
            district_code=self.district.data or None,
            commune_code=self.commune.data or None,
            site_code=self.site.data or None,
            dose_number=parsed(self.dose_number),
            vaccine=parsed(self.vaccine),
            vaccinated_on=parsed(self.vaccinated_on),
            attachment_name=upload.filename if data is not None else None,
            attachment_data=data,
        )


class StatusForm(PortalForm):
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=20)])
    # The same rule as the complaint form's (``records.rules``): dd/mm/yyyy or yyyy-mm-dd,
    # a date the calendar lacks said so, one message per rule.
    birth_date = StringField(
        _l("or date of birth"),
        validators=[follows(_full_birth_date, optional=True)],
        render_kw=DATE_INPUT,
    )

    def birth(self):
        """The date of birth the rule read (None when none was given)."""
        found = parsed(self.birth_date)
        return found[0] if found else None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.phone.data and self.birth() is None:
            self.phone.errors = [str(_l("Enter your phone number or your date of birth."))]
            return False
        return True


class AnswerForm(PortalForm):
    answer = TextAreaField(
        _l("Answer to the citizen"),
        validators=[DataRequired(_l("Write the answer.")), Length(max=4000)],
    )


class CloseForm(PortalForm):
    outcome = SelectField(
        _l("Outcome"),
        choices=[
            SelectChoice("resolved", _l("Resolved")),
            SelectChoice("rejected", _l("Rejected")),
        ],
    )
    reason = TextAreaField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=2000)]
    )


class ReassignForm(PortalForm):
    unit = SelectField(
        _l("Send to"), validate_choice=False, validators=[DataRequired(_l("Choose a unit."))]
    )
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=300)]
    )


class RuleForm(PortalForm):
    precision = SelectField(_l("Place named"), validate_choice=True)
    target = SelectField(_l("Handled by"), validate_choice=True)
    reason = StringField(
        _l("Reason"), validators=[DataRequired(_l("Give the reason.")), Length(max=300)]
    )


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else value


class QueueFilterForm(PortalForm):
    """The staff queue's GET form; it also works as a plain form without JavaScript. A value
    it refuses is shown with its message, and the queue shows as if it had not been given."""

    class Meta:
        csrf = False

    scope = SelectField(
        _l("Queue"),
        choices=[SelectChoice(k, label) for k, label in QUEUE_SCOPE_LABELS.items()],
        default="mine",
    )
    state = SelectField(
        _l("Deadline"),
        choices=[SelectChoice(k, label) for k, label in QUEUE_STATE_LABELS.items()],
        default="open",
    )
    kind = SelectField(
        _l("What is wrong"),
        choices=[SelectChoice("", _l("All"))]
        + [SelectChoice(k.value, label) for k, label in KIND_LABELS.items()],
        default="",
    )
    q = SearchField(
        _l("Code, name or ID number"),
        filters=[_stripped],
        validators=[Optional(), Length(max=100, message=_l("The search is too long."))],
    )
    after = HiddenField()

    def filters(self) -> QueueFilters:
        """The valid filters; a refused one is left at its default."""
        self.validate()
        defaults = QueueFilters()
        return QueueFilters(
            **{
                name: getattr(defaults, name) if self[name].errors else self[name].data or ""
                for name in ("scope", "state", "kind", "q", "after")
            }
        )
