"""Who may do what with the population register: the one place these rules live.

A register entry belongs to the commune of permanent residence it names (issue 14, item
1): a commune's police change only their commune's entries, a province's administrator
only their province's; replacing the whole register, and changing entries whose commune is
not known, is a national act (a national administrator, or the command line)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area, AreaKind
from portal.areas.scope import areas_within
from portal.auth.models import Role, User
from portal.core.navigation import MenuItem, at_endpoint
from portal.registry.models import RegisterExtract

EXTRACT_IMPORTERS = frozenset({Role.POLICE, Role.ADMIN, Role.NATIONAL_ADMIN})
MATCH_STARTERS = frozenset({Role.POLICE, Role.HEALTH_STATION, Role.HEALTH_AUTHORITY, Role.ADMIN})


def can_start_match(user: User) -> bool:
    """Who starts a matching run of their area's records against the register."""
    return user.role in MATCH_STARTERS


def can_import_extract(user: User) -> bool:
    """The police vouch for personal identity (letter 9438/BYT-CNTT), so they load the register's
    extract; administrators may too. Others neither see the imports nor make them."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in EXTRACT_IMPORTERS


def is_national(user: User | None) -> bool:
    """The command line (no user) and a national administrator act on the whole register."""
    return user is None or user.role == Role.NATIONAL_ADMIN


def can_replace_register(user: User | None) -> bool:
    """The register is shared by every commune: replacing it whole (dropping the entries
    absent from the file) is a national administrator's act; the others merge."""
    return is_national(user)


def register_area(user: User | None) -> Area | None:
    """The area whose entries ``user`` may add, change or drop; None: the whole register."""
    if is_national(user):
        return None
    assert user is not None
    return user.area


def default_commune(user: User | None) -> Area | None:
    """The commune a row without one belongs to: a commune police's own."""
    area = register_area(user)
    return area if area is not None and area.kind == AreaKind.COMMUNE else None


def extract_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL on ``RegisterExtract``: the imports made by users of the user's own area (a
    commune's police see their commune's, a province's administrator their province's);
    a national administrator sees every import."""
    if is_national(user):
        return sa.true()
    return RegisterExtract.imported_by_id.in_(
        sa.select(User.id).join(Area, User.area_id == Area.id).where(areas_within(user.area))
    )


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Register extracts"),
        "registry.list_extracts",
        can_import_extract,
        at_endpoint("registry.list_extracts"),
        position=30,
    ),
)

# The rules of this domain's actions that lower domains' pages offer (core.navigation.may_open):
# the record list's "match" form.
LINKED = {"registry.post_match": can_start_match}
