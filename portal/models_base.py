"""Small helpers shared by the models of every domain."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """Naive UTC: stored the same on SQLite and PostgreSQL, shown in Asia/Ho_Chi_Minh."""
    return datetime.now(UTC).replace(tzinfo=None)


def today_in_vietnam() -> date:
    """Today's date in Vietnam: the server runs in UTC, seven hours behind the office."""
    return datetime.now(VIETNAM).date()


def local_midnight_utc(day: date) -> datetime:
    """The start of ``day`` in Vietnam, as a stored (naive UTC) time: the bound of a day
    typed or counted in the office's calendar."""
    return datetime.combine(day, time(), tzinfo=VIETNAM).astimezone(UTC).replace(tzinfo=None)


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a CHECK constraint, storing the values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def c_collated(length: int) -> sa.types.TypeEngine:
    """ASCII keys must sort bytewise; PostgreSQL's default collation ignores spaces."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")
