"""The 48-hour clock (letter 9458/BYT-CNTT): due = received + 48 h; ≤ 12 h left is at
risk, past due is overdue; the clock stops at the first answer to the citizen."""

from __future__ import annotations

import enum
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.core.clock import utcnow
from portal.extensions import db
from portal.feedback.models import Feedback, UnitKind

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
        return (ClockState.ANSWERED if feedback.answered_at <= feedback.due_at
                else ClockState.ANSWERED_LATE)
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


@dataclass(frozen=True)
class UnitFigures:
    unit_kind: UnitKind
    unit_area_id: int | None
    unit_site_id: int | None
    received: int
    answered: int
    answered_in_time: int
    median_hours: float | None

    @property
    def share_in_time(self) -> float | None:
        """Answered in time over all complaints that are answered or already overdue."""
        return None if not self.received else self.answered_in_time / self.received


def response_figures(since: datetime | None = None,
                     province_id: int | None = None,
                     now: datetime | None = None) -> list[UnitFigures]:
    """Per unit: complaints received, answered, answered within 48 h and the median
    hours to the answer — for the dashboard. One query; the median is taken in Python
    over the answered durations (SQLite has no percentile function)."""
    now = now or utcnow()
    query = sa.select(Feedback.unit_kind, Feedback.unit_area_id, Feedback.unit_site_id,
                      Feedback.received_at, Feedback.due_at, Feedback.answered_at)
    # Complaints still inside their 48 hours are not judged yet.
    query = query.where(sa.or_(Feedback.answered_at.is_not(None), Feedback.due_at <= now))
    if since is not None:
        query = query.where(Feedback.received_at >= since)
    if province_id is not None:
        query = query.where(Feedback.province_id == province_id)
    groups: dict[tuple, list] = {}
    for kind, area_id, site_id, received_at, due_at, answered_at in db.session.execute(query):
        groups.setdefault((kind, area_id, site_id), []).append((received_at, due_at, answered_at))
    figures = []
    for (kind, area_id, site_id), rows in groups.items():
        hours = [(a - r).total_seconds() / 3600 for r, _, a in rows if a is not None]
        figures.append(UnitFigures(
            kind, area_id, site_id, received=len(rows), answered=len(hours),
            answered_in_time=sum(1 for _, d, a in rows if a is not None and a <= d),
            median_hours=statistics.median(hours) if hours else None))
    return sorted(figures, key=lambda f: (f.unit_kind, f.unit_area_id or 0, f.unit_site_id or 0))
