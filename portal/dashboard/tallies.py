"""Bulk writers and the dashboard's counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.dashboard.models import PersonTally, TallyPause
from portal.extensions import db


@contextmanager
def status_changes_counted(commune_id: int, changes: sa.Select) -> Iterator[None]:
    """Around one bulk status update of a commune (matching's), on SQLite: ``changes``
    selects (old status, new status, count) of the rows the update will change; the row
    trigger is paused for the commune and the counters take the whole difference at once —
    a handful of upserts instead of two per changed person. PostgreSQL's statement-level
    triggers already work set-based: nothing to do there. No commit happens inside, and
    SQLite has one writer at a time, so nobody else ever sees the pause."""
    if db.session.get_bind().dialect.name != "sqlite":
        yield
        return
    delta: Counter[str] = Counter()
    for old, new, n in db.session.execute(changes):
        delta[str(getattr(old, "value", old))] -= n
        delta[str(getattr(new, "value", new))] += n
    db.session.execute(sa.insert(TallyPause).values(commune_id=commune_id))
    yield
    db.session.execute(sa.delete(TallyPause).where(TallyPause.commune_id == commune_id))
    for status, n in sorted(delta.items()):
        if n:
            upsert = sqlite_insert(PersonTally).values(commune_id=commune_id, status=status, n=n)
            db.session.execute(upsert.on_conflict_do_update(
                index_elements=["commune_id", "status"],
                set_={"n": PersonTally.n + upsert.excluded.n}))
