"""Counters kept by the database itself, and the deadlines set by health authorities.

``person_tally`` and ``dose_tally`` are maintained by triggers in the same transaction as
every insert, update and delete of a person or a dose (migrations/sql/counters.*.sql):
statement-level triggers with transition tables on PostgreSQL, so that a matching run that
changes a million statuses adds one set-based aggregate, and row triggers on SQLite. The dashboard
reads a few hundred counter rows instead of scanning a million persons.
``flask --app wsgi dashboard recount`` rebuilds them from the tables.
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


class PersonTally(Model):
    __tablename__ = "person_tally"

    commune_id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class DoseTally(Model):
    __tablename__ = "dose_tally"

    # The person's commune; site 0 = a dose recorded without a site.
    commune_id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(primary_key=True)
    vaccine: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


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


class TallyPause(Model):
    """SQLite only: a commune whose status trigger is paused while a bulk writer (matching)
    applies one slice's status changes to the counters at once (dashboard.tallies)."""

    __tablename__ = "tally_pause"

    commune_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
