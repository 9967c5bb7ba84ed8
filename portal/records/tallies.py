"""Bulk writers and the dashboard's counters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.extensions import db
from portal.records.models import DoseTally, PersonTally, TallyPause


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
            db.session.execute(
                upsert.on_conflict_do_update(
                    index_elements=["commune_id", "status"],
                    set_={"n": PersonTally.n + upsert.excluded.n},
                )
            )


# The SQLite row triggers that count inserted persons and doses
# (migrations/sql/counters.sqlite.sql).
INSERT_TRIGGERS = ("tally_person_ai", "tally_dose_ai")


@dataclass
class Inserted:
    """What a bulk insert added: persons by (commune, status), doses by (person's commune,
    site or 0, vaccine)."""

    persons: Counter[tuple[int, str]] = field(default_factory=Counter)
    doses: Counter[tuple[int, int, str]] = field(default_factory=Counter)


@contextmanager
def inserts_counted() -> Iterator[Inserted]:
    """Around one bulk insert of persons and doses (an import's commit), on SQLite: the
    two insert row triggers are dropped, and created again afterwards from their own SQL,
    and the counters take what the caller reports in the ``Inserted`` it is given, at once
    — a handful of upserts instead of one per row. A pause row in ``tally_pause`` (as
    ``status_changes_counted`` does) would not be enough here: a trigger skipped by its
    WHEN clause still runs for every row, and measured on 50,000 persons and 100,000 doses
    that saved about a third of the triggers' cost; dropping them saves all of it.
    Everything happens in the caller's transaction (SQLite's schema changes are
    transactional, and it has one writer at a time): nobody else sees the triggers
    missing, and a rollback brings them back. PostgreSQL's statement-level triggers
    already count set-based: nothing to do there."""
    inserted = Inserted()
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield inserted
        return
    names = ", ".join(f"'{name}'" for name in INSERT_TRIGGERS)
    saved = connection.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({names})"
    ).all()
    for name, _sql in saved:
        connection.exec_driver_sql(f"DROP TRIGGER {name}")
    try:
        yield inserted
    finally:
        for _name, sql in saved:
            connection.exec_driver_sql(sql)
    dropped = {name for name, _sql in saved}
    # Exactly what the dropped triggers would have counted.
    if "tally_person_ai" not in dropped:
        inserted.persons.clear()
    if "tally_dose_ai" not in dropped:
        inserted.doses.clear()
    for (commune_id, status), n in sorted(inserted.persons.items()):
        upsert = sqlite_insert(PersonTally).values(commune_id=commune_id, status=status, n=n)
        db.session.execute(
            upsert.on_conflict_do_update(
                index_elements=["commune_id", "status"],
                set_={"n": PersonTally.n + upsert.excluded.n},
            )
        )
    for (commune_id, site_id, vaccine), n in sorted(inserted.doses.items()):
        upsert = sqlite_insert(DoseTally).values(
            commune_id=commune_id, site_id=site_id, vaccine=vaccine, n=n
        )
        db.session.execute(
            upsert.on_conflict_do_update(
                index_elements=["commune_id", "site_id", "vaccine"],
                set_={"n": DoseTally.n + upsert.excluded.n},
            )
        )
