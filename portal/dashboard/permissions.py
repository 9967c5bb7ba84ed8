"""Who sees which figures and who sets deadlines: the one place these rules live."""

from __future__ import annotations

import sqlalchemy as sa

from portal.areas.models import Area, AreaKind
from portal.auth.models import Role, User
from portal.extensions import db

TARGET_SETTERS = frozenset({Role.HEALTH_AUTHORITY, Role.ADMIN})


def area_in_scope(user: User, code: str | None) -> Area | None:
    """The user's own area, or an area inside it; None when outside (the route 404s)."""
    own = user.area
    if not code or code == own.code:
        return own
    area = db.session.scalar(sa.select(Area).where(Area.code == code))
    if area is None or area.kind == AreaKind.PROVINCE:
        return None
    if own.kind == AreaKind.PROVINCE and area.province_id == own.id:
        return area
    if own.kind == AreaKind.DISTRICT and area.parent_id == own.id:
        return area
    return None


def can_set_targets(user: User) -> bool:
    return user.role in TARGET_SETTERS
