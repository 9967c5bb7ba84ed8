"""The dashboard's writes: deadlines, daily snapshots, and rebuilding the counters."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.areas.models import Area
from portal.audit import services as audit
from portal.core.clock import today_in_vietnam
from portal.dashboard.models import DailyTally, Target, TargetMetric
from portal.extensions import db
from portal.records.models import Dose, DoseTally, Person, PersonTally


def create_target(area: Area, metric: TargetMetric, due_on: date, title: str, actor=None) -> Target:
    target = Target(
        area=area,
        metric=metric,
        due_on=due_on,
        title=title,
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(target)
    db.session.flush()
    audit.record(
        "dashboard.target_create",
        "target",
        target.id,
        {
            "area": [None, area.code],
            "metric": [None, metric.value],
            "due_on": [None, due_on],
            "title": [None, title],
        },
        actor=actor,
    )
    return target


def delete_target(target: Target, actor=None) -> None:
    audit.record(
        "dashboard.target_delete",
        "target",
        target.id,
        {
            "area": [target.area.code, None],
            "metric": [target.metric.value, None],
            "due_on": [target.due_on, None],
            "title": [target.title, None],
        },
        actor=actor,
    )
    db.session.delete(target)
    db.session.flush()


def snapshot(day: date | None = None) -> int:
    """Copy the counters as they are now into ``daily_tally`` for ``day`` (today)."""
    day = day or today_in_vietnam()
    db.session.execute(sa.delete(DailyTally).where(DailyTally.day == day))
    result: sa.CursorResult = db.session.execute(  # type: ignore[assignment]
        sa.insert(DailyTally).from_select(
            ["day", "commune_id", "status", "n"],
            sa.select(
                sa.literal(day, sa.Date), PersonTally.commune_id, PersonTally.status, PersonTally.n
            ).where(PersonTally.n != 0),
        )
    )
    db.session.flush()
    return result.rowcount


def recount(actor=None) -> dict[str, int]:
    """Rebuild both counters from the tables (after a restore or a manual repair)."""
    db.session.execute(sa.delete(PersonTally))
    db.session.execute(sa.delete(DoseTally))
    persons = db.session.execute(  # type: ignore[attr-defined]
        sa.insert(PersonTally).from_select(
            ["commune_id", "status", "n"],
            sa.select(Person.commune_id, Person.status, sa.func.count()).group_by(
                Person.commune_id, Person.status
            ),
        )
    ).rowcount
    site = sa.func.coalesce(Dose.site_id, 0)
    doses = db.session.execute(  # type: ignore[attr-defined]
        sa.insert(DoseTally).from_select(
            ["commune_id", "site_id", "vaccine", "n"],
            sa.select(Person.commune_id, site, Dose.vaccine, sa.func.count())
            .join(Person, Person.id == Dose.person_id)
            .group_by(Person.commune_id, site, Dose.vaccine),
        )
    ).rowcount
    audit.record(
        "dashboard.recount",
        "dashboard",
        None,
        {"person_rows": [None, persons], "dose_rows": [None, doses]},
        actor=actor,
    )
    return {"person_rows": persons, "dose_rows": doses}
