"""The complaints domain's words: its audit actions, the fields of a complaint and their
codes (kind, status, routing precision, handling unit, the answer clock). Gathered by
core.labels; feedback.display shows them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.feedback.clock import ClockState
from portal.feedback.models import (
    FeedbackKind,
    FeedbackStatus,
    NotificationState,
    Precision,
    UnitKind,
)

ACTIONS = {
    "feedback.create": _l("Complaint received"),
    "feedback.route": _l("Complaint routed"),
    "feedback.reassign": _l("Complaint reassigned"),
    "feedback.link": _l("Complaint linked to a record"),
    "feedback.answer": _l("Complaint answered"),
    # A status set by hand: feedback.{status}.
    "feedback.in_progress": _l("Complaint taken in hand"),
    "feedback.answered": _l("Complaint marked answered"),
    "feedback.resolved": _l("Complaint resolved"),
    "feedback.rejected": _l("Complaint rejected"),
    "feedback.escalate": _l("Overdue complaints escalated"),
    "feedback.export": _l("Complaints exported"),
    "feedback.rule": _l("Routing rule changed"),
}

ENTITIES = {
    "feedback": _l("Complaint"),
    "feedback_queue": _l("Complaints queue"),
    "feedback_routing_rule": _l("Routing rule"),
}

FIELDS = {
    "answer": _l("Answer"),
    "answer_number": _l("Answer number"),
    "answered_at": _l("Answered at"),
    "close_reason": _l("Reason for closing"),
    "attachment": _l("Attachment"),
    "precision": _l("Place known"),
    "unit_kind": _l("Handling unit"),
    "unit_area_id": _l("Handling unit's area"),
    "unit_site_id": _l("Handling site"),
    "province_id": _l("Province / city"),
    "person_id": _l("Linked record"),
    "rule_id": _l("Routing rule"),
    "fallback": _l("Why not where the rule points"),
    "target": _l("Handling unit"),
    "escalated": _l("Complaints escalated"),
    "no_account": _l("Units without an account"),
    "stamp": _l("Time of the escalation"),
}

KIND_LABELS = {
    FeedbackKind.MISSING_DOSE: _l("A dose is missing"),
    FeedbackKind.WRONG_DOSE: _l("Dose details are wrong"),
    FeedbackKind.WRONG_PERSONAL: _l("Personal information is wrong"),
    FeedbackKind.DUPLICATE: _l("A duplicate record"),
    FeedbackKind.OTHER: _l("Other"),
}
STATUS_LABELS = {
    FeedbackStatus.RECEIVED: _l("Received"),
    FeedbackStatus.IN_PROGRESS: _l("Being handled"),
    FeedbackStatus.ANSWERED: _l("Answered"),
    FeedbackStatus.RESOLVED: _l("Resolved"),
    FeedbackStatus.REJECTED: _l("Rejected"),
}
PRECISION_LABELS = {
    Precision.SITE: _l("site and dose"),
    Precision.COMMUNE: _l("commune"),
    Precision.DISTRICT: _l("district (old)"),
    Precision.PROVINCE: _l("province"),
    Precision.NONE: _l("no usable place"),
}
UNIT_KIND_LABELS = {
    UnitKind.SITE: _l("Vaccination site"),
    UnitKind.HEALTH_STATION: _l("Health station"),
    UnitKind.DISTRICT_CENTRE: _l("District health centre"),
    UnitKind.PROVINCE: _l("Provincial health authority"),
    UnitKind.POOL: _l("Common pool"),
}
CLOCK_LABELS = {
    ClockState.ON_TIME: _l("On time"),
    ClockState.AT_RISK: _l("At risk"),
    ClockState.OVERDUE: _l("Overdue"),
    ClockState.ANSWERED: _l("Answered in time"),
    ClockState.ANSWERED_LATE: _l("Answered late"),
}
# The staff queue's filters (feedback.forms.QueueFilterForm).
QUEUE_SCOPE_LABELS = {
    "mine": _l("My unit"),
    "pool": _l("Common pool"),
    "province": _l("Whole province"),
}
QUEUE_STATE_LABELS = {
    "open": _l("Open"),
    "at_risk": _l("At risk"),
    "overdue": _l("Overdue"),
    "answered": _l("Answered"),
    "closed": _l("Closed"),
    "all": _l("All"),
}
# A message to the citizen or the handling unit (feedback.models.Notification).
NOTIFICATION_STATE_LABELS = {
    NotificationState.PENDING: _l("waiting to be sent"),
    NotificationState.SENT: _l("sent"),
    NotificationState.FAILED: _l("failed"),
}

VALUES = {
    "kind": KIND_LABELS,
    "status": STATUS_LABELS,
    "precision": PRECISION_LABELS,
    "unit_kind": UNIT_KIND_LABELS,
    "target": UNIT_KIND_LABELS,
    "clock": CLOCK_LABELS,
    "state": NOTIFICATION_STATE_LABELS,
}


def label(table: dict, value) -> str:
    value = getattr(value, "value", value)
    return str(table.get(value, value))


def precision_label(value) -> str:
    return label(PRECISION_LABELS, value)


def unit_kind_label(value) -> str:
    return label(UNIT_KIND_LABELS, value)
