"""The portal's one date reader (issue 16): what a filter's day and a deadline accept is
what the field rules read, through the same function."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from portal.core import dates


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("30/04/2027", date(2027, 4, 30)),
        ("1/5/2027", date(2027, 5, 1)),
        ("2027-04-30", date(2027, 4, 30)),
        ("30.04.2027", date(2027, 4, 30)),  # parse_day refused it; the field rules read it
        (" 30-04-2027 ", date(2027, 4, 30)),
        ("31/12/9999", date.max),
        (datetime(2027, 4, 30, 8, 15), date(2027, 4, 30)),
        ("", None),
        (None, None),
        ("31/02/2027", None),  # no such day
        ("30/04/27", None),
        ("04/2027", None),  # a month is no day
        ("2027", None),
        ("1899-12-31", None),  # before 1900
        ("0001-01-01", None),
        ("٣٠/٠٤/٢٠٢٧", None),  # another script's digits
        ("ngày mai", None),
    ],
)
def test_a_day_is_read_as_the_field_rules_read_a_whole_date(typed, read):
    assert dates.day(typed) == read


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("03/1985", (date(1985, 3, 1), dates.MONTH)),
        ("1985-03", (date(1985, 3, 1), dates.MONTH)),  # the remote register's month
        ("1985", (date(1985, 1, 1), dates.YEAR)),
        (1985, (date(1985, 1, 1), dates.YEAR)),  # a number cell holding a year
        (31120, (date(1985, 3, 14), dates.DAY)),  # an Excel serial
        (59, (date(1900, 2, 28), dates.DAY)),  # before the 29/02/1900 Excel counts
        (61, (date(1900, 3, 1), dates.DAY)),
        ("1985-3", (date(1985, 3, 1), dates.MONTH)),
        ("85", None),
        ("1985-03-14-01", None),
    ],
)
def test_a_partial_date_keeps_its_precision(typed, read):
    assert dates.read(typed, partial=True) == read


def test_a_date_the_calendar_lacks_is_said_so():
    for typed in ("31/02/1990", "1990-13", "13/1990", "1990-02-30"):
        with pytest.raises(dates.NoSuchDay):
            dates.read(typed, partial=True)
