from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired

from portal.core.forms import PortalForm


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
