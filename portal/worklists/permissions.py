"""Who may do what with worklists: the one place these rules live."""

from __future__ import annotations

from portal.auth.models import Role, User

REVIEWERS = frozenset({Role.POLICE})
MATCH_STARTERS = frozenset({Role.POLICE, Role.HEALTH_STATION, Role.HEALTH_AUTHORITY, Role.ADMIN})


def can_review(user: User) -> bool:
    """Identity is vouched for by the police (seed 004)."""
    return user.role in REVIEWERS


def can_start_match(user: User) -> bool:
    return user.role in MATCH_STARTERS
