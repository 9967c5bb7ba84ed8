"""The dashboard's figures, read from the counters (``person_tally``, ``dose_tally``).

An area's figures are the sum of its communes' counter rows: a province of a million
persons is a few hundred rows, read through the counters' primary keys and the area
table, never a scan of ``person``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from portal.areas.models import Area, AreaKind, Site
from portal.areas.scope import communes_within, within
from portal.auth.models import Role, User
from portal.core.clock import local_midnight_utc, vietnam_date
from portal.core.sql import day_index, seconds_between
from portal.core.text import collation_key
from portal.dashboard.models import DailyTally, TargetMetric
from portal.extensions import db
from portal.feedback.clock import AT_RISK_WITHIN
from portal.feedback.models import Feedback
from portal.records.models import (
    CLEANED,
    STATUS_GROUPS,
    UNCORRECTED,
    Dose,
    DoseTally,
    Person,
    PersonStatus,
    PersonTally,
    Vaccine,
)

# The status groups are the records domain's (the record list filters on the same ones).
# "Đã xác nhận" is one figure: the persons whose record is confirmed (signed). Exempt
# persons (foreigners, never verified) are their own column, not confirmed ones.
CONFIRMED = frozenset({PersonStatus.CONFIRMED})
# A deadline "every record confirmed" is met when nobody is left to confirm: the exempt
# have nothing to confirm. Progress towards it is its own figure ("done"), not the share.
# Each records deadline's "done" is one of the record list's status groups, by name.
DONE_GROUP_BY_METRIC = {
    TargetMetric.CLEANED: "cleaned",
    TargetMetric.CONFIRMED: "confirmed_or_exempt",
}
DONE_BY_METRIC = {metric: STATUS_GROUPS[group] for metric, group in DONE_GROUP_BY_METRIC.items()}
# The shares shown on the dashboard, its table, its exports and its report: each computed
# by Figures.share_of (one definition), shown under one heading (labels.SHARE_LABELS).
SHARES = {"cleaned": CLEANED, "confirmed": CONFIRMED}
PACE_DAYS = 14


@dataclass
class Figures:
    """The counts of one area (or of one row of a drill-down table)."""

    area: Area | None
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def count(self, statuses) -> int:
        return sum(self.by_status.get(str(s), 0) for s in statuses)

    def share(self, statuses) -> float | None:
        return self.count(statuses) / self.total if self.total else None

    def share_of(self, key: str) -> float | None:
        """One of SHARES: the figure the card, the table, Excel and the PDF all show."""
        return self.share(SHARES[key])

    @property
    def cleaned(self) -> float | None:
        return self.share_of("cleaned")

    @property
    def confirmed(self) -> float | None:
        return self.share_of("confirmed")

    @property
    def worst_first(self) -> float:
        """Sort key: the least cleaned first, rows without records last."""
        return self.cleaned if self.cleaned is not None else 2.0

    @property
    def code(self) -> str:
        return self.area.code if self.area is not None else ""

    @property
    def name(self) -> str:
        return self.area.name if self.area is not None else ""

    @property
    def uncorrected(self) -> int:
        return self.count(UNCORRECTED)

    def status_share(self, status: PersonStatus) -> float | None:
        return self.share([status])


def children(area: Area) -> list[Area]:
    """The next level down: a province's (or a legacy district's) communes."""
    if area.kind == AreaKind.COMMUNE:
        return []
    ids = communes_within(area)
    return sorted(
        db.session.scalars(sa.select(Area).where(Area.id.in_(ids))),
        key=lambda commune: collation_key(commune.name),
    )


def area_figures(area: Area) -> Figures:
    rows = db.session.execute(
        sa.select(PersonTally.status, sa.func.sum(PersonTally.n))
        .where(PersonTally.commune_id.in_(communes_within(area)))
        .group_by(PersonTally.status)
    )
    return Figures(area, {status: int(n) for status, n in rows if n})


def child_figures(area: Area) -> list[Figures]:
    """One row per commune of the area (communes without records included, at zero)."""
    communes = children(area)
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = db.session.execute(
        sa.select(PersonTally.commune_id, PersonTally.status, PersonTally.n).where(
            PersonTally.commune_id.in_([c.id for c in communes]), PersonTally.n != 0
        )
    )
    for commune_id, status, n in rows:
        counts[commune_id][status] = n
    return [Figures(c, counts.get(c.id, {})) for c in communes]


def doses_by_vaccine(area: Area) -> list[tuple[str, int]]:
    """(the vaccine's Vietnamese name, doses) per vaccine code, most given first. The
    counters are keyed by the dose's code, so one product is one row whatever name it
    was entered under; a text that is no code (left by migration 0019) shows as written."""
    rows = db.session.execute(
        sa.select(sa.func.coalesce(Vaccine.name, DoseTally.vaccine), sa.func.sum(DoseTally.n))
        .outerjoin(Vaccine, Vaccine.code == DoseTally.vaccine)
        .where(DoseTally.commune_id.in_(communes_within(area)))
        .group_by(DoseTally.vaccine, Vaccine.name)
        .order_by(sa.func.sum(DoseTally.n).desc(), DoseTally.vaccine)
    )
    return [(name, int(n)) for name, n in rows if n]


@dataclass
class SiteFigures(Figures):
    """A drill-down row for a vaccination site: the commune's persons who had a dose there,
    by status (the same columns as a commune's row), and the doses recorded there."""

    site: Site | None = None
    doses: int = 0

    @property
    def code(self) -> str:
        return self.site.code if self.site is not None else ""

    @property
    def name(self) -> str:
        return self.site.name if self.site is not None else ""


def site_rows(commune: Area) -> list[SiteFigures]:
    """The sites of the commune, each a row with the same columns as a commune's. Counted
    on demand (not in the 30-second refresh): the commune's persons through the dose index."""
    sites = list(
        db.session.scalars(sa.select(Site).where(Site.commune_id == commune.id).order_by(Site.name))
    )
    if not sites:
        return []
    ids = [s.id for s in sites]
    doses = dict(
        db.session.execute(
            sa.select(DoseTally.site_id, sa.func.sum(DoseTally.n))
            .where(DoseTally.site_id.in_(ids))
            .group_by(DoseTally.site_id)
        ).all()
    )
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    for site_id, status, n in db.session.execute(
        sa.select(Dose.site_id, Person.status, sa.func.count(sa.distinct(Person.id)))
        .join(Person, Person.id == Dose.person_id)
        .where(Dose.site_id.in_(ids), Person.commune_id == commune.id)
        .group_by(Dose.site_id, Person.status)
    ):
        if site_id is not None:
            counts[site_id][str(getattr(status, "value", status))] = n
    return [SiteFigures(commune, counts.get(s.id, {}), s, int(doses.get(s.id) or 0)) for s in sites]


@dataclass(frozen=True)
class AccountableSite:
    site: Site
    uncorrected: int
    heads: list[str]


def accountability(area: Area, limit: int = 20) -> list[AccountableSite]:
    """The sites whose vaccinated persons of the area are still uncorrected, most first,
    with the people who answer for each site (its vaccination-site accounts: the Ministry of
    Health's letters of April 2022 make the head of the site answer for its records)."""
    count = sa.func.count(sa.distinct(Dose.person_id)).label("n")
    rows = db.session.execute(
        sa.select(Dose.site_id, count)
        .join(Person, Person.id == Dose.person_id)
        .where(
            Person.commune_id.in_(communes_within(area)),
            Person.status.in_([s.value for s in UNCORRECTED]),
            Dose.site_id.is_not(None),
        )
        .group_by(Dose.site_id)
        .order_by(count.desc(), Dose.site_id)
        .limit(limit)
    ).all()
    ids = [site_id for site_id, _n in rows if site_id is not None]
    sites = {s.id: s for s in db.session.scalars(sa.select(Site).where(Site.id.in_(ids)))}
    heads: dict[int, list[str]] = defaultdict(list)
    for site_id, name in db.session.execute(
        sa.select(User.site_id, User.display_name)
        .where(User.site_id.in_(ids), User.role == Role.VACCINATION_SITE, User.active)
        .order_by(User.display_name)
    ):
        if site_id is not None:
            heads[site_id].append(name)
    counts = dict(rows)
    return [AccountableSite(sites[i], counts[i], heads[i]) for i in ids]


# Projections -----------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    total: int
    done: int
    due_on: date
    today: date
    pace_per_day: float | None  # None: not enough history yet
    projected_on: date | None  # None: never at the current pace (or no history)

    @property
    def remaining(self) -> int:
        return max(self.total - self.done, 0)

    @property
    def share(self) -> float | None:
        return self.done / self.total if self.total else None

    @property
    def days_left(self) -> int:
        return (self.due_on - self.today).days

    @property
    def will_miss(self) -> bool:
        if self.remaining == 0:
            return False
        return self.projected_on is None or self.projected_on > self.due_on


def project(
    total: int, done: int, done_before: int | None, days: int, today: date, due_on: date
) -> Projection:
    """Extrapolate the pace of the last ``days`` days (``done_before`` then) to the end."""
    if done >= total:
        return Projection(total, done, due_on, today, None, today)
    if done_before is None or days <= 0:
        return Projection(total, done, due_on, today, None, None)
    pace = (done - done_before) / days
    if pace <= 0:
        return Projection(total, done, due_on, today, pace, None)
    needed = math.ceil((total - done) / pace)
    if needed > (date.max - today).days:
        # Past the end of the calendar: "never at the current pace", as a pace of nothing.
        return Projection(total, done, due_on, today, pace, None)
    return Projection(total, done, due_on, today, pace, today + timedelta(days=needed))


def history_start(today: date) -> date | None:
    """The oldest snapshot day inside the pace window, if any."""
    return db.session.scalar(
        sa.select(sa.func.min(DailyTally.day)).where(
            DailyTally.day >= today - timedelta(days=PACE_DAYS), DailyTally.day < today
        )
    )


def done_on(day: date, commune_ids: list[int], statuses) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(DailyTally.commune_id, sa.func.sum(DailyTally.n))
        .where(
            DailyTally.day == day,
            DailyTally.commune_id.in_(commune_ids),
            DailyTally.status.in_([str(s) for s in statuses]),
        )
        .group_by(DailyTally.commune_id)
    )
    return {commune_id: int(n) for commune_id, n in rows}


def project_target(
    area: Area, metric: TargetMetric, due_on: date, today: date
) -> tuple[Projection, list[tuple[Area, Projection]]]:
    """The area's projection, and the communes that will miss the date at their pace."""
    if metric == TargetMetric.ANSWERED:
        return project_answers(area, due_on, today)
    statuses = DONE_BY_METRIC[metric]
    rows = child_figures(area) if area.kind != AreaKind.COMMUNE else [area_figures(area)]
    start = history_start(today)
    days = (today - start).days if start else 0
    before = done_on(start, [f.area.id for f in rows if f.area], statuses) if start else {}
    whole = project(
        sum(f.total for f in rows),
        sum(f.count(statuses) for f in rows),
        sum(before.values()) if start else None,
        days,
        today,
        due_on,
    )
    late = []
    for f in rows:
        assert f.area is not None
        p = project(
            f.total,
            f.count(statuses),
            before.get(f.area.id, 0) if start else None,
            days,
            today,
            due_on,
        )
        if f.total and p.will_miss:
            late.append((f.area, p))
    return whole, late


def daily_series(
    area: Area, statuses, days: int = 30, today: date | None = None
) -> list[tuple[date, int, int]]:
    """(day, done, total) for each snapshot day of the last ``days`` days."""
    query = (
        sa.select(
            DailyTally.day,
            sa.func.sum(
                sa.case((DailyTally.status.in_([str(s) for s in statuses]), DailyTally.n), else_=0)
            ),
            sa.func.sum(DailyTally.n),
        )
        .where(DailyTally.commune_id.in_(communes_within(area)))
        .group_by(DailyTally.day)
        .order_by(DailyTally.day)
    )
    if today is not None:
        query = query.where(DailyTally.day >= today - timedelta(days=days))
    rows = db.session.execute(query)
    return [(day, int(done or 0), int(total or 0)) for day, done, total in rows]


# Complaints (issue 6) ------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintFigures:
    open: int
    at_risk: int
    overdue: int
    answered: int  # in the last WEEKS weeks
    answered_in_time: int
    median_hours: float | None
    weeks: list[tuple[date, int, int]]  # (monday, answered, of which in time)

    @property
    def in_time_share(self) -> float | None:
        return self.answered_in_time / self.answered if self.answered else None


COMPLAINT_WEEKS = 8


def _complaint_place(area: Area):
    """SQL: the complaints whose place lies in the area (as precisely as the citizen said)."""
    place = within(area, Feedback.commune_id, Feedback.province_id)
    if area.kind == AreaKind.DISTRICT:  # or the district itself, when no commune was said
        return sa.or_(Feedback.district_id == area.id, place)
    return place


def project_answers(
    area: Area, due_on: date, today: date
) -> tuple[Projection, list[tuple[Area, Projection]]]:
    """ "Every complaint answered by the date": complaints about the area received so far,
    those answered, and the pace of answers over the last PACE_DAYS days (the complaints'
    own times give the history; no snapshot is needed). A complaint placed no closer than
    the province counts for the province only."""
    start = local_midnight_utc(today - timedelta(days=PACE_DAYS))
    rows = db.session.execute(
        sa.select(
            Feedback.commune_id,
            sa.func.count(),
            sa.func.count(Feedback.answered_at),
            sa.func.count().filter(Feedback.answered_at < start),
        )
        .where(_complaint_place(area))
        .group_by(Feedback.commune_id)
    )
    counts = {
        commune_id: (int(total), int(done), int(before)) for commune_id, total, done, before in rows
    }
    total, done, before = (sum(c[i] for c in counts.values()) for i in range(3))
    whole = project(total, done, before, PACE_DAYS, today, due_on)
    communes = db.session.scalars(
        sa.select(Area).where(Area.id.in_([c for c in counts if c is not None]))
    )
    late = [
        (commune, p)
        for commune in communes
        if (p := project(*counts[commune.id], PACE_DAYS, today, due_on)).will_miss
    ]
    late.sort(key=lambda ap: collation_key(ap[0].name))
    return whole, late


def open_complaints_by_day(area: Area, today: date, days: int = 30) -> list[tuple[date, int]]:
    """(day, complaints about the area still unanswered at the end of that day) for the last
    ``days`` days before today: the open count at the window's start, then each day's
    arrivals and answers counted by the database, day by Vietnam's calendar."""
    first = today - timedelta(days=days)
    start = local_midnight_utc(first)
    end = local_midnight_utc(today)
    place = _complaint_place(area)
    open_at_start = (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                place,
                Feedback.received_at < start,
                sa.or_(Feedback.answered_at.is_(None), Feedback.answered_at >= start),
            )
        )
        or 0
    )
    change: dict[int, int] = defaultdict(int)
    for column, sign in ((Feedback.received_at, 1), (Feedback.answered_at, -1)):
        index = day_index(column, sa.literal(start, sa.DateTime))
        for offset, n in db.session.execute(
            sa.select(index, sa.func.count())
            .where(place, column >= start, column < end)
            .group_by(index)
        ):
            change[int(offset)] += sign * int(n)
    points, left = [], int(open_at_start)
    for offset in range(days):
        left += change.get(offset, 0)
        points.append((first + timedelta(days=offset), left))
    return points


def complaint_figures(area: Area, now: datetime) -> ComplaintFigures:
    """Open, at risk (≤ 12 h left) and overdue complaints about the area, counted on the
    partial index of unanswered complaints by place and due time; the answers of the last
    weeks, read by place and answer time."""
    place = _complaint_place(area)
    open_, at_risk, overdue = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.count().filter(Feedback.due_at > now, Feedback.due_at <= now + AT_RISK_WITHIN),
            sa.func.count().filter(Feedback.due_at <= now),
        ).where(place, Feedback.answered_at.is_(None))
    ).one()
    # The answers of the last weeks (Monday to Sunday, Vietnam's calendar), counted by the
    # database: by day, then by week here; in time or not. The median answer time is the
    # middle row (or two) of their ordered durations.
    monday = vietnam_date(now) - timedelta(weeks=COMPLAINT_WEEKS - 1)
    monday -= timedelta(days=monday.weekday())
    since = local_midnight_utc(monday)
    recent = (place, Feedback.answered_at >= since)
    index = day_index(Feedback.answered_at, sa.literal(since, sa.DateTime))
    weeks: dict[date, list[int]] = {}
    for offset, n, in_time in db.session.execute(
        sa.select(
            index, sa.func.count(), sa.func.count().filter(Feedback.answered_at <= Feedback.due_at)
        )
        .where(*recent)
        .group_by(index)
    ):
        counts = weeks.setdefault(monday + timedelta(weeks=int(offset) // 7), [0, 0])
        counts[0] += int(n)
        counts[1] += int(in_time)
    answered = sum(n for n, _ok in weeks.values())
    median = None
    if answered:
        took = seconds_between(Feedback.answered_at, Feedback.received_at)
        middle = [
            int(v)
            for v in db.session.scalars(
                sa.select(took)
                .where(*recent)
                .order_by(took)
                .offset((answered - 1) // 2)
                .limit(2 - answered % 2)
            )
        ]
        median = sum(middle) / len(middle) / 3600
    return ComplaintFigures(
        int(open_),
        int(at_risk),
        int(overdue),
        answered,
        sum(ok for _n, ok in weeks.values()),
        median,
        # Every week of the window once something was answered, weeks without answers at
        # zero: the chart's bars stand for equal spans of time.
        [
            (week, *weeks.get(week, (0, 0)))
            for week in (monday + timedelta(weeks=i) for i in range(COMPLAINT_WEEKS))
        ]
        if weeks
        else [],
    )
