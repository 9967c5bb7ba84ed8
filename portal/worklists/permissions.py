"""Who may do what with worklists: the one place these rules live."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area, AreaKind
from portal.auth.models import Role, User
from portal.core.navigation import MenuItem, at_endpoint
from portal.records.permissions import commune_scope
from portal.worklists.models import Worklist, WorklistKind, WorklistState

REVIEWERS = frozenset({Role.POLICE})


def can_review(user: User) -> bool:
    """Identity is vouched for by the police (letter 9438/BYT-CNTT)."""
    return user.role in REVIEWERS


# The lists police decisions feed: the health station corrects the records (the police
# see what they decided); the register updates are the police's note for the register,
# which the health station reads too (those records are right: not to be "corrected").
DECISION_LIST_READERS = {
    "corrections": frozenset({Role.POLICE, Role.HEALTH_STATION}),
    "register-updates": REVIEWERS | {Role.HEALTH_STATION},
}


def can_see_decision_list(user: User, slug: str) -> bool:
    return user.role in DECISION_LIST_READERS.get(slug, frozenset())


# Handover lists (letter 2262/BYT-CNTT, steps 2-3): the police hand over, the health
# station receives; the health authorities follow them. Nobody else has a part in a handover.
HANDOVER_READERS = frozenset({Role.POLICE, Role.HEALTH_STATION, Role.HEALTH_AUTHORITY})


def can_see_handovers(user: User) -> bool:
    return user.role in HANDOVER_READERS


def handover_scope(user: User):
    """SQL: the handover lists the user may see. Drafts are the police's work in progress."""
    if not can_see_handovers(user):
        return sa.false()
    clauses = [
        Worklist.kind == WorklistKind.HANDOVER,
        Worklist.area_id.in_(sa.select(Area.id).where(commune_scope(user))),
    ]
    if user.role != Role.POLICE:
        clauses.append(Worklist.state != WorklistState.DRAFT)
    return sa.and_(*clauses)


def can_create_handover(user: User) -> bool:
    """Commune police list the persons they verified."""
    return user.role == Role.POLICE and user.area.kind == AreaKind.COMMUNE


def can_hand_over(user: User, worklist) -> bool:
    return user.role == Role.POLICE and worklist.area_id == user.area_id


def can_receive_handover(user: User, worklist) -> bool:
    """Only the health station of the list's own commune."""
    return user.role == Role.HEALTH_STATION and worklist.area_id == user.area_id


def can_archive_handover(user: User, worklist) -> bool:
    return user.role == Role.HEALTH_STATION and worklist.area_id == user.area_id


HANDOVER_TRANSITIONS = {
    "hand_over": can_hand_over,
    "receive": can_receive_handover,
    "archive": can_archive_handover,
}


def allowed_handover_transitions(user: User, worklist) -> list[str]:
    """The transitions the user's role allows on this list (the state is checked later)."""
    return [name for name, check in HANDOVER_TRANSITIONS.items() if check(user, worklist)]


def _decision_list(slug: str, position: int) -> MenuItem:
    return MenuItem(
        _l("To correct") if slug == "corrections" else _l("Register updates"),
        "worklists.show_decision_list",
        lambda user: can_see_decision_list(user, slug),
        lambda here: here.slug == slug,
        {"slug": slug},
        position=position,
    )


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Identity review"),
        "worklists.show_review",
        can_review,
        at_endpoint("worklists.show_review"),
        position=40,
    ),
    MenuItem(
        _l("Handover"),
        "worklists.list_handovers",
        can_see_handovers,
        lambda here: "handover" in here.endpoint,
        position=50,
    ),
    _decision_list("corrections", 70),
    _decision_list("register-updates", 80),
)
