from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from portal.core.forms import PortalForm
from portal.imports.labels import STATE_LABELS


class ImportUploadForm(PortalForm):
    file = FileField(
        _l("File to import (Excel .xlsx or CSV)"),
        validators=[FileRequired(_l("Choose an Excel (.xlsx) or CSV file."))],
        render_kw={
            "accept": ".xlsx,.csv,text/csv,"
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        },
    )


class CommitForm(PortalForm):
    """Only the CSRF token: the commit is a deliberate POST."""


class ImportFilterForm(PortalForm):
    """The search of the commune's imports (a GET form): a file name, a state."""

    class Meta:
        csrf = False

    q = SearchField(
        _l("File name"),
        id="imports-q",
        validators=[Optional(), Length(max=100)],
        render_kw={"maxlength": 100, "autocomplete": "off"},
    )
    state = SelectField(
        _l("State"),
        id="imports-state",
        choices=[SelectChoice("", _l("All"))]
        + [SelectChoice(state.value, label) for state, label in STATE_LABELS.items()],
        default="",
    )
    after = HiddenField()
    before = HiddenField()

    FILTERS = ("q", "state")

    def search_fields(self) -> list:
        return [self[name] for name in self.FILTERS]

    def values(self) -> tuple[str, str]:
        """The search as the list reads it: a value in error counts as left empty, so that
        the list still shows beside the field's message."""
        q = "" if self.q.errors else (self.q.data or "").strip()
        state = "" if self.state.errors else self.state.data or ""
        return q, state
