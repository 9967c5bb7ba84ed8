"""The one rule for "the areas within X", used by every domain that scopes by area.

An area holds itself and what lies under it: a province its legacy districts and its
communes (``province_id``, denormalised so that this is one indexed comparison), a legacy
district its communes (``parent_id``), a commune only itself (``areas_within``). Every
other form here is that rule, shaped for a caller: the ids as a subquery
(``area_ids_within``), the communes (``communes_within``), rows that name their commune
(``within``), an area named by code (``area_within``). Each is SQL the caller embeds in
its own statement: asking costs no round trip of its own.

The area a vaccination site's staff reach follows the site's level (``site_reach``), here
once too. Records, the audit trail, the dashboard, accounts, jobs and the register all ask
here; none keeps a copy of the rule.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.areas.models import Area, AreaKind, Site, SiteLevel
from portal.extensions import db

# Sites that vaccinate whoever comes from anywhere in their province.
PROVINCE_WIDE = frozenset({SiteLevel.PROVINCE, SiteLevel.CENTRAL, SiteLevel.MINISTRY})


def areas_within(area: Area) -> sa.ColumnElement[bool]:
    """SQL on ``Area``: the area itself and every area inside it."""
    if area.kind == AreaKind.PROVINCE:
        return sa.or_(Area.id == area.id, Area.province_id == area.id)
    if area.kind == AreaKind.DISTRICT:
        return sa.or_(Area.id == area.id, Area.parent_id == area.id)
    return Area.id == area.id


def area_ids_within(area: Area) -> sa.Select:
    """SQL: the ids of the area and of every area inside it, as a subquery
    (``column.in_(area_ids_within(area))``)."""
    return sa.select(Area.id).where(areas_within(area))


def communes_within(area: Area) -> sa.Select:
    """SQL: the ids of the communes inside ``area`` (the area itself for a commune, without
    reading the area table)."""
    if area.kind == AreaKind.COMMUNE:
        return sa.select(sa.literal(area.id))
    return sa.select(Area.id).where(areas_within(area), Area.kind == AreaKind.COMMUNE)


def within(area: Area, commune_id: Any, province_id: Any = None) -> sa.ColumnElement[bool]:
    """SQL: rows inside ``area``, for rows that name their commune (``commune_id``);
    ``province_id``, when the row carries one, makes a province one comparison."""
    if area.kind == AreaKind.COMMUNE:
        return commune_id == area.id
    if area.kind == AreaKind.PROVINCE and province_id is not None:
        return province_id == area.id
    return commune_id.in_(communes_within(area))


def area_within(area: Area, code: str) -> Area | None:
    """The area with this code when it lies within ``area`` (or is it); None otherwise."""
    return db.session.scalar(sa.select(Area).where(Area.code == code, areas_within(area)))


def province_of(area: Area) -> Area:
    """The province an area lies in (a province is its own)."""
    if area.kind == AreaKind.PROVINCE or area.province is None:
        return area
    return area.province


def site_reach(site: Site) -> Area:
    """The area whose persons a vaccination site's staff find and dose, by the site's level:
    a province-level site (and a central or ministry one, which vaccinates whoever comes)
    the province of its commune, a district-level site its legacy district (its commune
    when the commune has none), a commune or private site its commune."""
    commune = site.commune
    if site.level in PROVINCE_WIDE:
        return province_of(commune)
    if site.level == SiteLevel.DISTRICT:
        parent = commune.parent
        return parent if parent is not None and parent.kind == AreaKind.DISTRICT else commune
    return commune


_COMMUNE_HOLDERS = (joinedload(Area.province), joinedload(Area.parent))
# A site and what ``site_reach`` reads of it, by id: loaded into the session, the site is
# what a relationship to it (``User.site``) then finds without asking again.
_SITE_WITH_REACH = (
    sa.select(Site)
    .options(joinedload(Site.commune).options(*_COMMUNE_HOLDERS))
    .where(Site.id == sa.bindparam("site_id"))
)


def load_site_reach(site_id: int) -> Site | None:
    """The site, its commune and that commune's holders, in one statement."""
    return db.session.scalar(_SITE_WITH_REACH, {"site_id": site_id})


def areas_holding(area: Area) -> list[int]:
    """The ids of the area and of the areas it lies within (its legacy district, its
    province): what is set for any of them applies to it."""
    ids = [area.id]
    for holder in (area.parent_id, area.province_id):
        if holder is not None and holder not in ids:
            ids.append(holder)
    return ids
