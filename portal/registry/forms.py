from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, SearchField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from portal.core.forms import PortalForm
from portal.registry.labels import MODE_LABELS


class ExtractUploadForm(PortalForm):
    file = FileField(
        _l("Extract file (CSV or Excel .xlsx)"),
        validators=[FileRequired(_l("Choose a CSV or Excel (.xlsx) file."))],
        render_kw={
            "accept": ".csv,.xlsx,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )
    # No default: replacing the whole register must be a choice, never an accident.
    mode = RadioField(
        _l("Import mode"),
        choices=[SelectChoice(m.value, label) for m, label in MODE_LABELS.items()],
        validators=[
            InputRequired(_l("Choose whether the file replaces the register or is merged into it."))
        ],
    )


class ExtractFilterForm(PortalForm):
    """The search of the imported extracts (a GET form): a file name. (No mode: those who
    may not replace the register are not offered the word.)"""

    class Meta:
        csrf = False

    q = SearchField(
        _l("File name"),
        id="extracts-q",
        validators=[Optional(), Length(max=100)],
        render_kw={"maxlength": 100, "autocomplete": "off"},
    )
    after = HiddenField()
    before = HiddenField()

    def search_fields(self) -> list:
        return [self.q]

    def values(self) -> tuple[str]:
        """The search as the list reads it: a value in error counts as left empty, so that
        the list still shows beside the field's message."""
        return ("" if self.q.errors else (self.q.data or "").strip(),)
