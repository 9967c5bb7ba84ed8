"""The one rule for "the areas within X", used by every domain that scopes by area.

An area holds itself and what lies under it: a province its legacy districts and its
communes (``province_id``, denormalised so that this is one indexed comparison), a legacy
district its communes (``parent_id``), a commune only itself. Records, the audit trail,
the dashboard and its deadlines all ask here; none keeps a copy of the rule.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.areas.models import Area, AreaKind
from portal.extensions import db


def areas_within(area: Area) -> sa.ColumnElement[bool]:
    """SQL on ``Area``: the area itself and every area inside it."""
    if area.kind == AreaKind.PROVINCE:
        return sa.or_(Area.id == area.id, Area.province_id == area.id)
    if area.kind == AreaKind.DISTRICT:
        return sa.or_(Area.id == area.id, Area.parent_id == area.id)
    return Area.id == area.id


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


def areas_holding(area: Area) -> list[int]:
    """The ids of the area and of the areas it lies within (its legacy district, its
    province): what is set for any of them applies to it."""
    ids = [area.id]
    for holder in (area.parent_id, area.province_id):
        if holder is not None and holder not in ids:
            ids.append(holder)
    return ids
