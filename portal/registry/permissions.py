"""Who may do what with the population register: the one place these rules live."""

from __future__ import annotations

import sqlalchemy as sa

from portal.areas.models import Area
from portal.areas.scope import areas_within
from portal.auth.models import Role, User
from portal.registry.models import RegisterExtract

EXTRACT_IMPORTERS = frozenset({Role.POLICE, Role.ADMIN})


def can_import_extract(user: User) -> bool:
    """The police vouch for personal identity (seed 004), so they load the register's
    extract; administrators may too. Others neither see the imports nor make them."""
    return bool(getattr(user, "is_authenticated", False)) and user.role in EXTRACT_IMPORTERS


def can_replace_register(user: User) -> bool:
    """The register is shared by every commune: replacing it whole (dropping the entries
    absent from the file) is for administrators; police merge their extracts into it."""
    from portal.auth.models import Role

    return user.role == Role.ADMIN


def extract_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL on ``RegisterExtract``: the imports made by users of the user's own area (a
    commune's police see their commune's, a province's administrator their province's)."""
    return RegisterExtract.imported_by_id.in_(
        sa.select(User.id).join(Area, User.area_id == Area.id).where(areas_within(user.area)))
