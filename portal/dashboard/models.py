"""The counters' daily snapshots, and the deadlines set by health authorities.

The counters themselves (``person_tally``, ``dose_tally``) are records' (records.models):
the database keeps them on its tables' writes. ``flask --app wsgi dashboard recount``
rebuilds them from the tables.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area
from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model


class DailyTally(Model):
    """Yesterday's person_tally, day by day: the pace that projections extrapolate."""

    __tablename__ = "daily_tally"

    day: Mapped[date] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class TargetMetric(enum.StrEnum):
    CLEANED = "cleaned"  # no record left unchecked, without ID, malformed, differing or not found
    CONFIRMED = "confirmed"  # every record confirmed (signed) or exempt
    ANSWERED = "answered"  # every complaint answered (MoH letters of April 2022)


class Target(Model):
    __tablename__ = "target"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    metric: Mapped[TargetMetric] = mapped_column(enum_column(TargetMetric, "target_metric"))
    due_on: Mapped[date]
    title: Mapped[str] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    area: Mapped[Area] = relationship()
