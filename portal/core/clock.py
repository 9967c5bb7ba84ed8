"""The one clock: Vietnam's zone, the time now, today in Vietnam, and how dates and times
are written on screens and in files.

Times are stored as naive UTC (the same on SQLite and PostgreSQL) and shown in
Asia/Ho_Chi_Minh; the server itself runs in UTC, seven hours behind the office, so
nothing else asks the machine for the date or the time (``date.today()``,
``datetime.now()``): between 00:00 and 07:00 in Vietnam they would still say yesterday.
Every reading goes through :func:`now`, the one source of time a test freezes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

ZONE_NAME = "Asia/Ho_Chi_Minh"
VIETNAM = ZoneInfo(ZONE_NAME)

DATE_FORMAT = "%d/%m/%Y"
MINUTE_FORMAT = "%d/%m/%Y %H:%M"
TIME_FORMAT = "%d/%m/%Y %H:%M:%S"


def now() -> datetime:
    """The time now, aware, in UTC: the one place the program reads the clock."""
    return datetime.now(UTC)


def utcnow() -> datetime:
    """Naive UTC: stored the same on SQLite and PostgreSQL, shown in Asia/Ho_Chi_Minh."""
    return now().replace(tzinfo=None)


def vietnam_now() -> datetime:
    """The time now on Vietnam's wall clock, aware."""
    return now().astimezone(VIETNAM)


def today_in_vietnam() -> date:
    """Today's date in Vietnam: the server runs in UTC, seven hours behind the office."""
    return vietnam_now().date()


def to_vietnam(moment: datetime) -> datetime:
    """A stored time (naive UTC, or aware) as Vietnam's time, aware."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM)


def vietnam_date(moment: datetime | None = None) -> date:
    """The calendar date in Vietnam of a stored time (naive UTC, or aware); of now if None."""
    return today_in_vietnam() if moment is None else to_vietnam(moment).date()


def local_midnight_utc(day: date) -> datetime:
    """The start of ``day`` in Vietnam, as a stored (naive UTC) time: the bound of a day
    typed or counted in the office's calendar."""
    return datetime.combine(day, time(), tzinfo=VIETNAM).astimezone(UTC).replace(tzinfo=None)


def format_date(value: date | datetime | None) -> str:
    """Dates are always dd/mm/yyyy, whatever the language; a time is first taken to
    Vietnam's calendar."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_vietnam(value)
    return value.strftime(DATE_FORMAT)


def format_birth(value: date | None, precision) -> str:
    """A birth date shown only as precisely as it is known."""
    if value is None:
        return ""
    precision = getattr(precision, "value", precision)
    # Formatted here: strftime costs four times as much, on every row of a list.
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return f"{value.month:02d}/{value.year:04d}"
    return f"{value.day:02d}/{value.month:02d}/{value.year:04d}"


def format_time(value: datetime | None) -> str:
    """A stored time, shown in Asia/Ho_Chi_Minh as dd/mm/yyyy HH:MM:SS."""
    if value is None:
        return ""
    return to_vietnam(value).strftime(TIME_FORMAT)


def format_minute(value: datetime | None) -> str:
    """A stored time, shown in Asia/Ho_Chi_Minh as dd/mm/yyyy HH:MM (the record history)."""
    if value is None:
        return ""
    return to_vietnam(value).strftime(MINUTE_FORMAT)
