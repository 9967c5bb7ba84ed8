"""The audit trail's own words: the export of the trail. Every other action is named by
the domain that records it (``portal/<domain>/labels.py``); core.labels gathers them all,
and the trail page, its export and a record's history show them through its helpers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTIONS = {"audit.export": _l("Audit trail exported")}
