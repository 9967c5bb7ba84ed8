"""The dashboard's words: its audit actions, the deadlines' metrics and the shares it
shows. Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.dashboard.models import TargetMetric

ACTIONS = {
    "dashboard.export": _l("Dashboard exported"),
    "dashboard.recount": _l("Dashboard counters rebuilt"),
    "dashboard.report": _l("Progress report printed"),
    "dashboard.target_create": _l("Deadline set"),
    "dashboard.target_delete": _l("Deadline deleted"),
}

ENTITIES = {
    "dashboard": _l("Dashboard"),
    "target": _l("Deadline"),
}

FIELDS = {
    "title": _l("Title"),
    "metric": _l("What must be done"),
    "due_on": _l("Due"),
    "person_rows": _l("Counter rows for records"),
    "dose_rows": _l("Counter rows for doses"),
}

METRIC_LABELS = {
    TargetMetric.CLEANED: _l("All records cleaned"),
    TargetMetric.CONFIRMED: _l("All records confirmed (signed)"),
    TargetMetric.ANSWERED: _l("Every complaint answered"),
}

# The headings of the shares (queries.SHARES), the same on the cards, in the table, in
# Excel and CSV, and in the PDF report: distinct from the status columns' "Đã xác nhận".
SHARE_LABELS = {
    "cleaned": _l("Share cleaned"),
    "confirmed": _l("Share confirmed"),
}

VALUES = {"metric": METRIC_LABELS}
