"""Who sees which figures and who sets deadlines: the one place these rules live."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from portal.areas.models import Area
from portal.areas.scope import area_within
from portal.auth.models import Role, User
from portal.core.navigation import MenuItem, in_blueprint

TARGET_SETTERS = frozenset({Role.HEALTH_AUTHORITY, Role.ADMIN})


def can_see_dashboard(user: Any) -> bool:
    """Every account follows its own area's progress (the page shows the user's area)."""
    return bool(getattr(user, "is_authenticated", False))


def area_in_scope(user: User, code: str | None) -> Area | None:
    """The user's own area, or an area inside it; None when outside (the route 404s)."""
    own = user.area
    if not code or code == own.code:
        return own
    return area_within(own, code)


def can_set_targets(user: User) -> bool:
    return user.role in TARGET_SETTERS


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Dashboard"),
        "dashboard.show_dashboard",
        can_see_dashboard,
        in_blueprint("dashboard"),
        position=10,
    ),
)
