"""Which unit answers a complaint: the place's precision looks up a rule, the rule names a
kind of unit, and the place names the unit. Every decision says which rule chose it and,
when the named unit does not exist, which fallback was taken.

The table (``feedback_routing_rule``) as the migration seeds it, for the whole country:

=========  ==================  ==========================================================
precision  unit                why
=========  ==================  ==========================================================
site       site                a site and dose details: the site holds the dose record
commune    province            the province handles it unless it delegated (seed 000)
district   district_centre     the legacy district's health centre, else the province
province   province            the provincial health authority
none       pool                the common pool, triaged daily by health authorities
=========  ==================  ==========================================================

A province delegates commune complaints to its health stations with its own ``commune``
row (target ``health_station``); administrators may change any row.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area, AreaKind, Site
from portal.audit import services as audit
from portal.auth.models import Role, User
from portal.extensions import db
from portal.feedback.models import Precision, RoutingRule, UnitKind
from portal.models_base import utcnow

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
}


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


@dataclass(frozen=True)
class Decision:
    precision: Precision
    unit: Unit
    rule_id: int | None
    note: str  # a FALLBACK_NOTES key, or ""


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
    sa.or_(RoutingRule.province_id.is_(None),
           RoutingRule.province_id == sa.bindparam("province_id")))


def rule_for(precision: Precision, province_id: int | None) -> RoutingRule | None:
    """The province's own rule if it has one, else the national rule."""
    rules = db.session.scalars(RULES_FOR, {"precision": precision,
                                           "province_id": province_id}).all()
    own = [r for r in rules if r.province_id is not None]
    return own[0] if own else (rules[0] if rules else None)


def has_district_centre(district: Area) -> bool:
    """A legacy district has a health centre when a health-authority account works there."""
    return bool(db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(
            User.area_id == district.id, User.role == Role.HEALTH_AUTHORITY, User.active)
    ))


def route(place: Place) -> Decision:
    precision = precision_of(place)
    commune = place.commune or (place.site.commune if place.site is not None else None)
    province_id = (place.province.id if place.province is not None
                   else commune.province_id if commune is not None else None)
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
    return list(db.session.scalars(
        sa.select(RoutingRule).where(clause).order_by(RoutingRule.province_id.is_not(None),
                                                      RoutingRule.id)))


def set_rule(precision: Precision, province: Area | None, target: UnitKind, reason: str,
             actor: User) -> RoutingRule:
    """Change a rule (a province's own row is created on first change); audited with why."""
    if province is not None and province.kind != AreaKind.PROVINCE:
        raise ValueError("not a province")
    rule = db.session.scalar(sa.select(RoutingRule).where(
        RoutingRule.precision == precision,
        RoutingRule.province_id == province.id if province is not None
        else RoutingRule.province_id.is_(None)))
    old = rule.target if rule is not None else None
    if rule is None:
        rule = RoutingRule(precision=precision, province_id=province.id if province else None,
                           target=target)
        db.session.add(rule)
    rule.target = target
    rule.note = reason[:300]
    rule.updated_by_id = actor.id
    rule.updated_at = utcnow()
    db.session.flush()
    audit.record("feedback.rule", "feedback_routing_rule", rule.id,
                 {"precision": [None, precision], "province": [None, province.code
                                                               if province else None],
                  "target": [old, target]}, reason=reason, actor=actor)
    return rule
