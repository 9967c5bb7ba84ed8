"""The portable time arithmetic gives the same whole seconds and days on both databases."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.core.sql import day_index, seconds_between
from portal.extensions import db

ORIGIN = datetime(2026, 11, 30, 17, 0, 0)  # 01/12/2026 00:00 in Vietnam, stored as UTC


def _value(expression):
    return db.session.scalar(sa.select(expression))


@pytest.mark.parametrize(
    ("later", "seconds", "day"),
    [
        (ORIGIN, 0, 0),
        (ORIGIN + timedelta(microseconds=999_999), 0, 0),
        (ORIGIN + timedelta(days=1) - timedelta(microseconds=1), 86_399, 0),
        (ORIGIN + timedelta(days=1), 86_400, 1),
        (ORIGIN + timedelta(days=29, hours=23, minutes=59, seconds=59), 2_591_999, 29),
        (ORIGIN + timedelta(days=56, hours=3), 56 * 86_400 + 3 * 3600, 56),
    ],
)
def test_seconds_and_days_after_an_origin(app, later, seconds, day):
    at = sa.literal(later, sa.DateTime)
    origin = sa.literal(ORIGIN, sa.DateTime)
    assert _value(seconds_between(at, origin)) == seconds
    assert _value(day_index(at, origin)) == day


def test_seconds_between_two_times_of_a_complaint(app):
    received = sa.literal(datetime(2026, 12, 1, 8, 15, 30), sa.DateTime)
    answered = sa.literal(datetime(2026, 12, 3, 10, 15, 30), sa.DateTime)
    assert _value(seconds_between(answered, received)) == 50 * 3600
