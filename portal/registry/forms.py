from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

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
