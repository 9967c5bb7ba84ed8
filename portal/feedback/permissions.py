"""Who handles which complaints: the one place where complaint access is decided.

A user's unit: site staff answer for their site, a health station for its commune, a
health authority for its (legacy) district or its province; administrators and
province health authorities triage the common pool. A province's health authority also
oversees, reassigns and delegates every complaint placed in its province.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import AreaKind
from portal.auth.models import Role, User
from portal.core.navigation import MenuItem, in_blueprint
from portal.feedback.models import Escalation, Feedback, UnitKind
from portal.feedback.routing import Unit, unit_for_account


def unit_of(user: User) -> Unit | None:
    return unit_for_account(
        user.role, user.area.kind if user.area else None, user.area_id, user.site_id
    )


def is_province_authority(user: User) -> bool:
    return user.role == Role.HEALTH_AUTHORITY and user.area.kind == AreaKind.PROVINCE


def can_use_queue(user: User) -> bool:
    return unit_of(user) is not None


def can_triage_pool(user: User) -> bool:
    return user.role == Role.ADMIN or is_province_authority(user)


def can_configure_rules(user: User) -> bool:
    """Administrators change the national rules; a province authority its province's."""
    return user.role == Role.ADMIN or is_province_authority(user)


def unit_clause(unit: Unit) -> sa.ColumnElement[bool]:
    """Complaints assigned to the unit."""
    return Feedback.unit_key == unit.key


def escalated_clause(unit: Unit) -> sa.ColumnElement[bool]:
    """Complaints escalated to the unit."""
    if unit.area_id is None:
        return sa.false()
    return Feedback.id.in_(
        sa.select(Escalation.feedback_id).where(
            Escalation.unit_kind == unit.kind, Escalation.unit_area_id == unit.area_id
        )
    )


def visible_clause(user: User) -> sa.ColumnElement[bool]:
    """Every complaint the user may open."""
    unit = unit_of(user)
    if unit is None:
        return sa.false()
    clauses = [unit_clause(unit), escalated_clause(unit)]
    if can_triage_pool(user):
        clauses.append(Feedback.unit_kind == UnitKind.POOL)
    if is_province_authority(user):
        clauses.append(Feedback.province_id == user.area_id)
    return sa.or_(*clauses)


def can_handle(user: User, feedback: Feedback) -> bool:
    """Answer, link, resolve or reject: the assigned unit, an escalation unit, or the
    province authority of the complaint's province (pool: whoever triages it)."""
    unit = unit_of(user)
    if unit is None:
        return False
    if (feedback.unit_kind, feedback.unit_area_id, feedback.unit_site_id) == (
        unit.kind,
        unit.area_id,
        unit.site_id,
    ):
        return True
    if any(
        e.unit_kind == unit.kind and e.unit_area_id == unit.area_id for e in feedback.escalations
    ):
        return True
    if feedback.unit_kind == UnitKind.POOL and can_triage_pool(user):
        return True
    return is_province_authority(user) and feedback.province_id == user.area_id


def can_reassign(user: User, feedback: Feedback) -> bool:
    """Health authorities move complaints of their province; the pool's, into it."""
    if user.role == Role.ADMIN:
        return True
    if not is_province_authority(user):
        return False
    return feedback.unit_kind == UnitKind.POOL or feedback.province_id == user.area_id


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Complaints"),
        "feedback.show_queue",
        can_use_queue,
        in_blueprint("feedback"),
        position=100,
    ),
)
