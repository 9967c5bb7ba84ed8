"""Who reads the audit trail, and whose events: the one place these rules live.

Administrators and health authorities read the events of the people of their area (the
area recorded with each event: the actor's, at the time). Events with no actor (the
command line, the task queue's scheduled work) belong to no area and are not shown: a
province's administrator must not read what was done in another province."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area
from portal.areas.scope import areas_within
from portal.audit.models import AuditEvent
from portal.core.accounts import Role
from portal.core.navigation import MenuItem, in_blueprint

if TYPE_CHECKING:
    from portal.auth.models import User

READERS = frozenset({Role.ADMIN, Role.HEALTH_AUTHORITY})


def can_read_trail(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in READERS


def events_in_scope(user: User) -> sa.ColumnElement[bool]:
    """The events whose actor's area lies within the reader's (or is it)."""
    return AuditEvent.actor_area.in_(sa.select(Area.code).where(areas_within(user.area)))


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Audit trail"), "audit.show_trail", can_read_trail, in_blueprint("audit"), position=120
    ),
)
