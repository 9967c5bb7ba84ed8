"""Growing waits after repeated failures: the one rule of the login throttle (per account
and address) and of the complaint status page (per tracking code). Each caller counts its
failures where they belong (the audit trail, a counter table) and asks here how long the
next attempt waits."""

from __future__ import annotations

import math
from datetime import datetime, timedelta


def growing_wait(
    failures: int,
    last_failure: datetime | None,
    now: datetime,
    *,
    free: int,
    first_delay_minutes: float,
    max_delay_minutes: float,
) -> timedelta:
    """``free`` failures cost nothing; from there the next attempt waits
    ``first_delay_minutes`` after the last failure, doubling with each further failure up
    to ``max_delay_minutes``. Zero: it may try now."""
    excess = failures - free
    if excess < 0 or last_failure is None:
        return timedelta(0)
    delay = min(first_delay_minutes * 2 ** min(excess, 30), max_delay_minutes)
    return max(last_failure + timedelta(minutes=delay) - now, timedelta(0))


def whole_minutes(wait: timedelta) -> int:
    """A wait as a person reads it: whole minutes, rounded up, at least one."""
    return max(1, math.ceil(wait.total_seconds() / 60))
