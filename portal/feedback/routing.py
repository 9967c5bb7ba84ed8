"""Which unit answers a complaint: the place's precision looks up a rule, the rule names a
kind of unit, and the place names the unit. Every decision says which rule chose it and,
when the named unit does not exist, which fallback was taken.

The table (``feedback_routing_rule``) as the migration seeds it, for the whole country:

=========  ==================  ==========================================================
precision  unit                why
=========  ==================  ==========================================================
site       site                a site and dose details: the site holds the dose record
commune    province            the province handles or delegates (letter 9458/BYT-CNTT)
district   district_centre     the legacy district's health centre, else the province
province   province            the provincial health authority
none       pool                the common pool, triaged daily by health authorities
=========  ==================  ==========================================================

A province delegates commune complaints to its health stations with its own ``commune``
row (target ``health_station``); administrators may change any row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area, AreaKind, Site, SiteLevel
from portal.audit import services as audit
from portal.auth.models import Role, User
from portal.core.clock import utcnow
from portal.extensions import db
from portal.feedback.labels import precision_label, unit_kind_label
from portal.feedback.models import Precision, RoutingRule, UnitKind

DEFAULT_TARGETS = {
    Precision.SITE: UnitKind.SITE,
    Precision.COMMUNE: UnitKind.PROVINCE,
    Precision.DISTRICT: UnitKind.DISTRICT_CENTRE,
    Precision.PROVINCE: UnitKind.PROVINCE,
    Precision.NONE: UnitKind.POOL,
}

# Why a decision differs from its rule's target (stored on the complaint, shown translated).
FALLBACK_NOTES = {
    "no_site": _l("no site named: sent to the province"),
    "no_commune": _l("no commune named: sent to the province"),
    "no_district_centre": _l("the district has no health centre: sent to the province"),
    "no_province": _l("no province named: sent to the common pool"),
    # Followed by "|" and the keys of the units passed over (see ``staffed_or_above``).
    "no_account": _l("no active account at %(units)s: sent to the unit above"),
}
NO_ACCOUNT = "no_account"


@dataclass(frozen=True)
class Place:
    province: Area | None = None
    district: Area | None = None
    commune: Area | None = None
    site: Site | None = None
    has_dose_details: bool = False


@dataclass(frozen=True)
class Unit:
    kind: UnitKind
    area_id: int | None = None
    site_id: int | None = None

    @property
    def key(self) -> str:
        """``province:12:``, ``site::34``, ``pool::``: one indexed column per unit."""
        kind = getattr(self.kind, "value", self.kind)
        return f"{kind}:{self.area_id or ''}:{self.site_id or ''}"

    @classmethod
    def from_key(cls, key: str) -> Unit | None:
        """``health_station:12:`` back into its unit; None for anything else."""
        try:
            kind, area_id, site_id = key.split(":")
            return cls(
                UnitKind(kind), int(area_id) if area_id else None, int(site_id) if site_id else None
            )
        except ValueError:
            return None


@dataclass(frozen=True)
class Decision:
    precision: Precision
    unit: Unit
    rule_id: int | None
    note: str  # FALLBACK_NOTES keys joined by ";" (no_account with "|" unit keys), or ""


def precision_of(place: Place) -> Precision:
    if place.site is not None and place.has_dose_details:
        return Precision.SITE
    if place.commune is not None or place.site is not None:
        return Precision.COMMUNE
    if place.district is not None:
        return Precision.DISTRICT
    if place.province is not None:
        return Precision.PROVINCE
    return Precision.NONE


# The province's own rule and the national one (``province_id = NULL`` matches nothing, so
# without a province only the national rule). Built once: the public form runs it each time.
RULES_FOR = sa.select(RoutingRule).where(
    RoutingRule.precision == sa.bindparam("precision"),
    sa.or_(
        RoutingRule.province_id.is_(None), RoutingRule.province_id == sa.bindparam("province_id")
    ),
)


def rule_for(precision: Precision, province_id: int | None) -> RoutingRule | None:
    """The province's own rule if it has one, else the national rule."""
    rules = db.session.scalars(
        RULES_FOR, {"precision": precision, "province_id": province_id}
    ).all()
    own = [r for r in rules if r.province_id is not None]
    return own[0] if own else (rules[0] if rules else None)


def unit_for_account(
    role: Role, area_kind: AreaKind | None, area_id: int | None, site_id: int | None
) -> Unit | None:
    """The unit whose complaints an account answers (None: it answers none). The one rule,
    used for the queue (``permissions.unit_of``) and for which units are staffed."""
    if role == Role.VACCINATION_SITE and site_id is not None:
        return Unit(UnitKind.SITE, site_id=site_id)
    if role == Role.HEALTH_STATION and area_kind == AreaKind.COMMUNE:
        return Unit(UnitKind.HEALTH_STATION, area_id)
    if role == Role.HEALTH_AUTHORITY and area_kind == AreaKind.DISTRICT:
        return Unit(UnitKind.DISTRICT_CENTRE, area_id)
    if role == Role.HEALTH_AUTHORITY and area_kind == AreaKind.PROVINCE:
        return Unit(UnitKind.PROVINCE, area_id)
    if role == Role.ADMIN:
        return Unit(UnitKind.POOL)
    return None


def staffed(units: Iterable[Unit]) -> set[str]:
    """The keys of those units someone can log in to answer: an active account works there.
    One query for all of them. The common pool is always staffed (administrators)."""
    units = list(units)
    keys = {u.key for u in units if u.kind == UnitKind.POOL}
    area_ids = {u.area_id for u in units if u.kind != UnitKind.SITE and u.area_id}
    site_ids = {u.site_id for u in units if u.kind == UnitKind.SITE and u.site_id}
    clauses = []
    if area_ids:
        clauses.append(
            sa.and_(
                User.role.in_([Role.HEALTH_STATION, Role.HEALTH_AUTHORITY]),
                User.area_id.in_(area_ids),
            )
        )
    if site_ids:
        clauses.append(sa.and_(User.role == Role.VACCINATION_SITE, User.site_id.in_(site_ids)))
    if clauses:
        rows = db.session.execute(
            sa.select(User.role, Area.kind, User.area_id, User.site_id)
            .join(Area, Area.id == User.area_id)
            .where(User.active, sa.or_(*clauses))
            .distinct()
        )
        for role, area_kind, area_id, site_id in rows:
            unit = unit_for_account(role, area_kind, area_id, site_id)
            if unit is not None:
                keys.add(unit.key)
    return keys & {u.key for u in units}


def has_district_centre(district: Area) -> bool:
    """A legacy district has a health centre when a health-authority account works there."""
    unit = Unit(UnitKind.DISTRICT_CENTRE, district.id)
    return unit.key in staffed([unit])


def units_above(unit: Unit) -> list[Unit]:
    """Where a complaint goes when ``unit`` has nobody to answer it, nearest first: a
    commune-level or private site's health station, then the province, then the pool."""
    chain: list[Unit] = []
    province_id = None
    if unit.kind == UnitKind.SITE and unit.site_id is not None:
        site = db.session.get(Site, unit.site_id)
        if site is not None:
            if site.level in (SiteLevel.COMMUNE, SiteLevel.PRIVATE):
                chain.append(Unit(UnitKind.HEALTH_STATION, site.commune_id))
            province_id = site.commune.province_id
    elif unit.kind in (UnitKind.HEALTH_STATION, UnitKind.DISTRICT_CENTRE) and unit.area_id:
        area = db.session.get(Area, unit.area_id)
        province_id = area.province_id if area is not None else None
    if unit.kind != UnitKind.POOL:
        if province_id is not None:
            chain.append(Unit(UnitKind.PROVINCE, province_id))
        chain.append(Unit(UnitKind.POOL))
    return chain


def staffed_or_above(decision: Decision) -> Decision:
    """The decision, or — when nobody can log in to its unit — the nearest unit above with
    an active account, the note naming the units passed over (stored on the complaint)."""
    candidates = [decision.unit, *units_above(decision.unit)]
    open_units = staffed(candidates)
    if decision.unit.key in open_units:
        return decision
    passed = []
    for unit in candidates:
        if unit.key in open_units:
            break
        passed.append(unit)
    else:  # pragma: no cover - the pool is always staffed
        unit = Unit(UnitKind.POOL)
    note = "|".join([NO_ACCOUNT, *(u.key for u in passed)])
    if decision.note:  # why the rule's unit was not taken first, then why not the next
        note = f"{decision.note};{note}"
    return Decision(decision.precision, unit, decision.rule_id, note[:300])


def route(place: Place) -> Decision:
    """The unit that answers a complaint about this place, by the rules; a unit nobody
    can log in to is passed over for the one above (``staffed_or_above``)."""
    return staffed_or_above(_by_rule(place))


def _by_rule(place: Place) -> Decision:
    precision = precision_of(place)
    commune = place.commune or (place.site.commune if place.site is not None else None)
    province_id = (
        place.province.id
        if place.province is not None
        else commune.province_id
        if commune is not None
        else None
    )
    rule = rule_for(precision, province_id)
    target = rule.target if rule is not None else DEFAULT_TARGETS[precision]
    rule_id = rule.id if rule is not None else None

    def to_province(note: str) -> Decision:
        if province_id is None:
            return Decision(precision, Unit(UnitKind.POOL), rule_id, "no_province")
        return Decision(precision, Unit(UnitKind.PROVINCE, province_id), rule_id, note)

    if target == UnitKind.SITE:
        if place.site is None:
            return to_province("no_site")
        return Decision(precision, Unit(UnitKind.SITE, site_id=place.site.id), rule_id, "")
    if target == UnitKind.HEALTH_STATION:
        if commune is None:
            return to_province("no_commune")
        return Decision(precision, Unit(UnitKind.HEALTH_STATION, commune.id), rule_id, "")
    if target == UnitKind.DISTRICT_CENTRE:
        if place.district is None or not has_district_centre(place.district):
            return to_province("no_district_centre")
        return Decision(precision, Unit(UnitKind.DISTRICT_CENTRE, place.district.id), rule_id, "")
    if target == UnitKind.PROVINCE:
        return to_province("")
    return Decision(precision, Unit(UnitKind.POOL), rule_id, "")


def rules_for_province(province_id: int | None) -> list[RoutingRule]:
    """The national rules, and the province's own ones when a province is given."""
    clause: sa.ColumnElement[bool] = RoutingRule.province_id.is_(None)
    if province_id is not None:
        clause = sa.or_(clause, RoutingRule.province_id == province_id)
    return list(
        db.session.scalars(
            sa.select(RoutingRule)
            .where(clause)
            .order_by(RoutingRule.province_id.is_not(None), RoutingRule.id)
        )
    )


# The units a complaint named at each precision can reach: the place it names must say
# which one (a complaint naming only a province names no site, no station).
REACHABLE = {
    Precision.SITE: {UnitKind.SITE, UnitKind.HEALTH_STATION, UnitKind.PROVINCE, UnitKind.POOL},
    Precision.COMMUNE: {UnitKind.HEALTH_STATION, UnitKind.PROVINCE, UnitKind.POOL},
    Precision.DISTRICT: {UnitKind.DISTRICT_CENTRE, UnitKind.PROVINCE, UnitKind.POOL},
    Precision.PROVINCE: {UnitKind.PROVINCE, UnitKind.POOL},
    Precision.NONE: {UnitKind.POOL},
}


class RuleError(ValueError):
    """A rule that cannot be applied; ``field`` is the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def rule_error(precision: Precision, province: Area | None, target: UnitKind) -> RuleError | None:
    """Why a rule makes no sense, or None: its unit must be one the named place identifies,
    and a province's own rule must keep its complaints inside the province."""
    if province is not None and precision == Precision.NONE:
        return RuleError(
            "precision",
            _(
                "Complaints without a usable place belong to no province: only the national rule "
                "applies to them."
            ),
        )
    if target not in REACHABLE[precision]:
        return RuleError(
            "target",
            _(
                "A complaint naming its place at the level “%(place)s” cannot go to a unit of "
                "the kind “%(unit)s”: the place named does not say which one.",
                place=precision_label(precision),
                unit=unit_kind_label(target),
            ),
        )
    if province is not None and target == UnitKind.POOL:
        return RuleError(
            "target",
            _(
                "The common pool serves the whole country: a province's own rule sends its "
                "complaints to a unit of %(name)s.",
                name=province.name,
            ),
        )
    return None


def set_rule(
    precision: Precision, province: Area | None, target: UnitKind, reason: str, actor: User
) -> RoutingRule:
    """Change a rule (a province's own row is created on first change); audited with why.
    A rule that makes no sense raises ``RuleError``."""
    if province is not None and province.kind != AreaKind.PROVINCE:
        raise ValueError("not a province")
    error = rule_error(precision, province, target)
    if error is not None:
        raise error
    rule = db.session.scalar(
        sa.select(RoutingRule).where(
            RoutingRule.precision == precision,
            RoutingRule.province_id == province.id
            if province is not None
            else RoutingRule.province_id.is_(None),
        )
    )
    old = rule.target if rule is not None else None
    if rule is None:
        rule = RoutingRule(
            precision=precision, province_id=province.id if province else None, target=target
        )
        db.session.add(rule)
    rule.target = target
    rule.note = reason[:300]
    rule.updated_by_id = actor.id
    rule.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "feedback.rule",
        "feedback_routing_rule",
        rule.id,
        {
            "precision": [None, precision],
            "province": [None, province.code if province else None],
            "target": [old, target],
        },
        reason=reason,
        actor=actor,
    )
    return rule
