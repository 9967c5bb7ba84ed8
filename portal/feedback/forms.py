from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from portal.core.forms import PortalForm
from portal.feedback import services
from portal.feedback.display import KIND_LABELS
from portal.feedback.models import FeedbackKind

DATE_FORMAT = "%d/%m/%Y"
# A text box: a browser's date picker would send yyyy-mm-dd, not dd/mm/yyyy.
DATE_INPUT = {"type": "text", "placeholder": "dd/mm/yyyy", "inputmode": "numeric"}
BAD_DATE = _l("Enter the date as dd/mm/yyyy.")


def _not_future(form, field) -> None:
    if field.data is not None and (field.data > date.today() or field.data.year < 1900):
        raise ValidationError(_l("This date is not possible."))


class FeedbackForm(PortalForm):
    full_name = StringField(_l("Full name"), validators=[
        DataRequired(_l("Enter your full name.")), Length(max=200)])
    id_number = StringField(_l("ID number (CCCD/CMND)"), validators=[Optional(), Length(max=20)])
    birth_date = DateField(_l("Date of birth"), format=DATE_FORMAT, validators=[
        DataRequired(BAD_DATE), _not_future], render_kw=DATE_INPUT)
    phone = StringField(_l("Phone number"), validators=[
        DataRequired(_l("Enter your phone number.")), Length(max=20)])
    email = EmailField(_l("E-mail (optional)"), validators=[
        Optional(), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                             message=_l("This is not an e-mail address.")), Length(max=200)])
    kind = SelectField(_l("What is wrong"),
                       choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
                       validators=[DataRequired(_l("Choose what is wrong."))])
    # The places are pick-lists filled from the database; the service checks the codes.
    province = SelectField(_l("Province / city"), validate_choice=False)
    district = SelectField(_l("District (old, if your record has one)"), validate_choice=False)
    commune = SelectField(_l("Commune / ward"), validate_choice=False)
    site = SelectField(_l("Vaccination site"), validate_choice=False)
    dose_number = IntegerField(_l("Dose number"), validators=[
        Optional(), NumberRange(1, 10, _l("A dose number from 1 to 10."))])
    vaccine = StringField(_l("Vaccine"), validators=[Optional(), Length(max=80)])
    vaccinated_on = DateField(_l("Vaccination date"), format=DATE_FORMAT, validators=[
        Optional(), _not_future], render_kw=DATE_INPUT)
    description = TextAreaField(_l("Describe the problem"), validators=[
        DataRequired(_l("Describe the problem.")),
        Length(10, 2000, _l("Between 10 and 2000 characters."))])
    attachment = FileField(_l("Photo or scan of your paper certificate (JPEG, PNG or PDF)"))

    def validate_id_number(self, field) -> None:
        if field.data:
            field.data = field.data.strip()
            message = services.id_number_error(field.data)
            if message:
                raise ValidationError(message)

    def validate_phone(self, field) -> None:
        normalised = services.normalise_phone(field.data or "")
        if normalised is None:
            raise ValidationError(_l("Enter a Vietnamese phone number, for example 0912345678."))
        field.data = normalised

    def submission(self) -> services.Submission:
        upload = self.attachment.data
        data = upload.read() if upload and getattr(upload, "filename", "") else None
        return services.Submission(
            full_name=self.full_name.data.strip(), birth_date=self.birth_date.data,
            phone=self.phone.data, kind=FeedbackKind(self.kind.data),
            description=self.description.data, id_number=self.id_number.data or None,
            email=self.email.data or None, province_code=self.province.data or None,
            district_code=self.district.data or None, commune_code=self.commune.data or None,
            site_code=self.site.data or None, dose_number=self.dose_number.data,
            vaccine=(self.vaccine.data or "").strip() or None,
            vaccinated_on=self.vaccinated_on.data,
            attachment_name=upload.filename if data is not None else None,
            attachment_data=data)


class StatusForm(PortalForm):
    phone = StringField(_l("Phone number"), validators=[Optional(), Length(max=20)])
    birth_date = DateField(_l("or date of birth"), format=DATE_FORMAT,
                           validators=[Optional()], render_kw=DATE_INPUT)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.phone.data and self.birth_date.data is None:
            self.phone.errors = [str(_l("Enter your phone number or your date of birth."))]
            return False
        return True


class AnswerForm(PortalForm):
    answer = TextAreaField(_l("Answer to the citizen"), validators=[
        DataRequired(_l("Write the answer.")), Length(max=4000)])


class CloseForm(PortalForm):
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice("resolved", _l("Resolved")),
                                                  SelectChoice("rejected", _l("Rejected"))])
    reason = TextAreaField(_l("Reason"), validators=[
        DataRequired(_l("Give the reason.")), Length(max=2000)])


class ReassignForm(PortalForm):
    unit = SelectField(_l("Send to"), validate_choice=False,
                       validators=[DataRequired(_l("Choose a unit."))])
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Give the reason.")), Length(max=300)])


class RuleForm(PortalForm):
    precision = SelectField(_l("Place named"), validate_choice=True)
    target = SelectField(_l("Handled by"), validate_choice=True)
    reason = StringField(_l("Reason"), validators=[
        DataRequired(_l("Give the reason.")), Length(max=300)])
