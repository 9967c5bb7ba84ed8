"""Reading a date as people type it or a spreadsheet holds it: the portal's one date reader.

``records.rules`` builds the verdicts of a birth date and a vaccination date on
:func:`read`; a day that is no record's field (a filter's bound, a deadline) is read with
:func:`day`. Dates the program wrote itself (ISO dates in a cursor, a snapshot or the
audit trail) are decoded where they are, with ``date.fromisoformat``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

DAY, MONTH, YEAR = "day", "month", "year"
MIN_YEAR = 1900
YEAR_NUMBERS = range(MIN_YEAR, 2101)  # a bare year in a number cell, not a date serial
EXCEL_EPOCH = date(1899, 12, 30)  # serial 61 is 1 March 1900 (Excel counts a 29 Feb 1900)
MAX_SERIAL = 2_958_465  # 31/12/9999
WRITE_A_DAY = _l("Write the date as dd/mm/yyyy, for example 30/04/2027.")


class NoSuchDay(ValueError):
    """A well-formed date the calendar lacks: 31/02/1990."""


def read(raw: Any, partial: bool = False) -> tuple[date, str] | None:
    """(date, precision) of a typed text or a spreadsheet cell: dd/mm/yyyy or yyyy-mm-dd
    (``-``, ``/`` and ``.`` alike), a date cell or an Excel serial; with ``partial`` also
    mm/yyyy or yyyy-mm (the month) and yyyy (the year), as text or a number. None when
    unreadable; raises :class:`NoSuchDay` for a date the calendar lacks."""
    if isinstance(raw, datetime):
        return raw.date(), DAY
    if isinstance(raw, date):
        return raw, DAY
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if not 1 <= raw <= MAX_SERIAL or raw != int(raw):
            return None
        number = int(raw)
        if partial and number in YEAR_NUMBERS:
            return date(number, 1, 1), YEAR
        # An Excel serial number (Excel counts a 29/02/1900 that never was).
        return EXCEL_EPOCH + timedelta(days=number if number > 60 else number + 1), DAY
    text = str(raw).strip()
    parts = text.replace("-", "/").replace(".", "/").split("/")
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    lengths = [len(p) for p in parts]
    try:
        if len(parts) == 3 and lengths[0] == 4 and max(lengths[1:]) <= 2:
            return date(int(parts[0]), int(parts[1]), int(parts[2])), DAY
        if len(parts) == 3 and lengths[2] == 4 and max(lengths[:2]) <= 2:
            return date(int(parts[2]), int(parts[1]), int(parts[0])), DAY
        if partial and len(parts) == 2 and lengths[1] == 4 and lengths[0] <= 2:
            return date(int(parts[1]), int(parts[0]), 1), MONTH
        if partial and len(parts) == 2 and lengths[0] == 4 and lengths[1] <= 2:
            return date(int(parts[0]), int(parts[1]), 1), MONTH
        if partial and len(parts) == 1 and lengths[0] == 4:
            return date(int(parts[0]), 1, 1), YEAR
    except ValueError:
        raise NoSuchDay() from None
    return None


def day(raw: Any) -> date | None:
    """A whole date from 1900 on, as typed (dd/mm/yyyy, yyyy-mm-dd); None when blank,
    unreadable or not in the calendar (the caller says :data:`WRITE_A_DAY`)."""
    if raw is None or not str(raw).strip():
        return None
    try:
        found = read(raw)
    except NoSuchDay:
        return None
    return found[0] if found is not None and found[0].year >= MIN_YEAR else None
