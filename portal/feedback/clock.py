"""The 48-hour clock (letter 9458/BYT-CNTT): due = received + 48 h; ≤ 12 h left is at
risk, past due is overdue; the clock stops at the first answer to the citizen."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.core.clock import utcnow
from portal.feedback.models import Feedback

ANSWER_WITHIN = timedelta(hours=48)
AT_RISK_WITHIN = timedelta(hours=12)


class ClockState(enum.StrEnum):
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    ANSWERED = "answered"
    ANSWERED_LATE = "answered_late"


def due_for(received_at: datetime) -> datetime:
    return received_at + ANSWER_WITHIN


def time_left(feedback: Feedback, now: datetime | None = None) -> timedelta:
    return feedback.due_at - (now or utcnow())


def state(feedback: Feedback, now: datetime | None = None) -> ClockState:
    if feedback.answered_at is not None:
        return (
            ClockState.ANSWERED
            if feedback.answered_at <= feedback.due_at
            else ClockState.ANSWERED_LATE
        )
    left = time_left(feedback, now)
    if left <= timedelta(0):
        return ClockState.OVERDUE
    if left <= AT_RISK_WITHIN:
        return ClockState.AT_RISK
    return ClockState.ON_TIME


def state_clause(wanted: ClockState, now: datetime) -> sa.ColumnElement[bool]:
    """The same states in SQL, for the queue's filters."""
    unanswered = Feedback.answered_at.is_(None)
    if wanted == ClockState.OVERDUE:
        return sa.and_(unanswered, Feedback.due_at <= now)
    if wanted == ClockState.AT_RISK:
        return sa.and_(unanswered, Feedback.due_at > now, Feedback.due_at <= now + AT_RISK_WITHIN)
    if wanted == ClockState.ON_TIME:
        return sa.and_(unanswered, Feedback.due_at > now + AT_RISK_WITHIN)
    if wanted == ClockState.ANSWERED:
        return sa.and_(Feedback.answered_at.is_not(None), Feedback.answered_at <= Feedback.due_at)
    return sa.and_(Feedback.answered_at.is_not(None), Feedback.answered_at > Feedback.due_at)


def time_left_text(left: timedelta) -> str:
    """``còn 47 giờ 52 phút`` or ``quá hạn 3 giờ 1 phút``: the time left before the
    deadline, in the user's words, for every page and export of complaints."""
    seconds = left.total_seconds()
    minutes = int(abs(seconds) // 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(_("%(num)s h", num=hours))
    if minutes or not hours:
        parts.append(_("%(num)s min", num=minutes))
    duration = " ".join(parts)
    if seconds > 0:
        return _("%(duration)s left", duration=duration)
    return _("overdue by %(duration)s", duration=duration)
