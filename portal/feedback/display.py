"""Names, in the user's language, for the complaints domain's codes and units."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.areas.models import Area, Site
from portal.core.clock import format_minute
from portal.extensions import db
from portal.feedback import clock
from portal.feedback.labels import (
    CLOCK_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    label,
    unit_kind_label,
)
from portal.feedback.routing import FALLBACK_NOTES, NO_ACCOUNT, Unit


def kind_label(value) -> str:
    return label(KIND_LABELS, value)


def feedback_status_label(value) -> str:
    return label(STATUS_LABELS, value)


def clock_label(value) -> str:
    return label(CLOCK_LABELS, value)


def fallback_label(note: str) -> str:
    """Why the complaint went where it did, when not where its rule pointed: each step
    of the stored note (``no_district_centre;no_account|health_station:12:``) in words."""
    texts = []
    for step in (note or "").split(";"):
        key, *passed = step.split("|")
        if key not in FALLBACK_NOTES:
            continue
        if key == NO_ACCOUNT:
            units = [u for u in map(Unit.from_key, passed) if u is not None]
            names = unit_names(units)
            texts.append(
                _(
                    "no active account at %(units)s: sent to the unit above",
                    units=", ".join(names[u] for u in units),
                )
            )
        else:
            texts.append(str(FALLBACK_NOTES[key]))
    return "; ".join(texts)


def unit_name(unit: Unit) -> str:
    """``Trạm Y tế Phường Ba Đình``, ``Sở Y tế Thành phố Hà Nội``, a site's name, …"""
    kind = getattr(unit.kind, "value", unit.kind)
    if kind == "site":
        site = db.session.get(Site, unit.site_id) if unit.site_id else None
        return named(kind, site.name if site is not None else None)
    area = db.session.get(Area, unit.area_id) if unit.area_id and kind != "pool" else None
    return named(kind, area.name if area is not None else None)


def unit_names(units: Iterable[Unit]) -> dict[Unit, str]:
    """``unit_name`` of many units, their areas' and sites' names read in one query."""
    units = set(units)
    area_ids = {u.area_id for u in units if u.area_id and u.kind != "site"}
    site_ids = {u.site_id for u in units if u.site_id and u.kind == "site"}
    parts = []
    if area_ids:
        parts.append(sa.select(sa.literal("area"), Area.id, Area.name).where(Area.id.in_(area_ids)))
    if site_ids:
        parts.append(sa.select(sa.literal("site"), Site.id, Site.name).where(Site.id.in_(site_ids)))
    names: dict[tuple[str, int], str] = {}
    if parts:
        query = parts[0] if len(parts) == 1 else sa.union_all(*parts)
        names = {(table, id_): name for table, id_, name in db.session.execute(query)}
    result = {}
    for unit in units:
        kind = getattr(unit.kind, "value", unit.kind)
        if kind == "site":
            result[unit] = named(kind, names.get(("site", unit.site_id or 0)))
        else:
            result[unit] = named(kind, names.get(("area", unit.area_id or 0)))
    return result


def named(kind: str, name: str | None) -> str:
    """A unit's name from its kind and the name of its area or site (None: not found)."""
    if kind == "site":
        return name if name is not None else unit_kind_label(kind)
    if kind == "pool":
        return unit_kind_label(kind)
    name = name if name is not None else "?"
    if kind == "health_station":
        return _("Health station of %(name)s", name=name)
    if kind == "district_centre":
        return _("Health centre of %(name)s", name=name)
    return _("Health authority of %(name)s", name=name)


def feedback_unit_name(feedback) -> str:
    return unit_name(Unit(feedback.unit_kind, feedback.unit_area_id, feedback.unit_site_id))


# --- what the citizen reads ------------------------------------------------------------


def citizen_unit_name(feedback) -> str:
    """Who answers, in words a citizen understands: the common pool is staff's word."""
    if getattr(feedback.unit_kind, "value", feedback.unit_kind) == "pool":
        return _(
            "Not known yet: every working day the health authorities look at the "
            "reports without a usable place and pass each one to the unit responsible"
        )
    return feedback_unit_name(feedback)


@dataclass(frozen=True)
class CitizenStatus:
    overdue: bool
    deadline: str  # the sentence about the deadline
    escalated: str  # the sentence about the escalation, or ""


def citizen_status(feedback, now: datetime) -> CitizenStatus:
    """The state of the complaint in plain words: waiting and until when, late and by how
    much, and whether it was sent up because of the delay."""
    due = format_minute(feedback.due_at)
    if feedback.answered_at is not None:
        return CitizenStatus(
            False,
            _("Answered on %(time)s (Vietnam time).", time=format_minute(feedback.answered_at)),
            "",
        )
    left = clock.time_left_text(feedback.due_at - now)
    unit = citizen_unit_name(feedback)
    if feedback.due_at > now:
        return CitizenStatus(
            False,
            _(
                "Waiting for the answer of %(unit)s, due by %(due)s (Vietnam time), %(left)s.",
                unit=unit,
                due=due,
                left=left,
            ),
            "",
        )
    escalated_to = [Unit(e.unit_kind, e.unit_area_id) for e in feedback.escalations]
    names = unit_names(escalated_to)
    escalated = (
        _(
            "Because of the delay, your report was also sent to %(units)s, which "
            "will make sure it is answered.",
            units=", ".join(names[u] for u in escalated_to),
        )
        if escalated_to
        else _("The health authorities follow up the reports answered late.")
    )
    return CitizenStatus(
        True,
        _(
            "Your report was not answered in time: it was due by %(due)s (Vietnam time), it is "
            "now %(left)s.",
            due=due,
            left=left,
        ),
        escalated,
    )
