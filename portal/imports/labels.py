"""The Excel import's words: its audit actions, fields and the states of an import.
Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.imports.models import BatchState

ACTIONS = {
    "import.upload": _l("Excel file uploaded"),
    "import.commit": _l("Excel import committed"),
    "import.fail": _l("Excel import failed"),
    "import.retry": _l("Excel import started again"),
}

ENTITIES = {"import_batch": _l("Excel import")}

FIELDS = {
    "file_sha256": _l("File SHA-256"),
    "file_size": _l("File size (bytes)"),
    "job": _l("Background job"),
}

STATE_LABELS = {
    BatchState.CHECKING: _l("being checked"),
    BatchState.CHECKED: _l("checked, waiting for confirmation"),
    BatchState.REJECTED: _l("refused"),
    BatchState.COMMITTING: _l("being imported"),
    BatchState.COMMITTED: _l("imported"),
    BatchState.FAILED: _l("failed"),
}

VALUES = {"state": STATE_LABELS}
