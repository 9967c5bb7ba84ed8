"""Who manages which accounts: the one place these rules live.

An administrator manages the accounts of their province: those whose area is the province
itself or a unit inside it. Nobody else manages accounts (the command line does it for the
first administrator, before anyone can log in)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area, AreaKind
from portal.areas.scope import area_ids_within, area_within, province_of
from portal.auth.models import Role, User
from portal.core.accounts import NATION_WIDE
from portal.core.navigation import MenuItem


def can_manage_accounts(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role == Role.ADMIN


def areas_managed_by(user: User) -> sa.Select:
    """SQL: the ids of the areas whose accounts ``user`` manages (their province's)."""
    return area_ids_within(province_of(user.area))


def area_managed_by(user: User, code: str | None) -> Area | None:
    """The area with that code when ``user`` manages its accounts, else None (404)."""
    if not code:
        return None
    return area_within(province_of(user.area), code.strip())


def manages(user: User, account: User) -> bool:
    """A national administrator's account is nobody's on the accounts page: it works
    nation-wide, whichever province it is seated in (the command line manages it)."""
    return (
        can_manage_accounts(user)
        and account.role not in NATION_WIDE
        and area_managed_by(user, account.area.code) is not None
    )


# Where each role works (9438, 9458/BYT-CNTT): the commune's police, health station and committee;
# a vaccination site's staff (the site's commune is their area); health authorities of a
# province or a district; administrators of a province. A national administrator acts on
# the whole population register: the province they are seated in (their office) only says
# where the account is kept, and only the command line appoints one (issue 14, item 1).
ROLE_AREA_KINDS = {
    Role.POLICE: (AreaKind.COMMUNE,),
    Role.HEALTH_STATION: (AreaKind.COMMUNE,),
    Role.COMMITTEE: (AreaKind.COMMUNE,),
    Role.VACCINATION_SITE: (AreaKind.COMMUNE,),
    Role.HEALTH_AUTHORITY: (AreaKind.PROVINCE, AreaKind.DISTRICT),
    Role.ADMIN: (AreaKind.PROVINCE,),
    Role.NATIONAL_ADMIN: (AreaKind.PROVINCE,),
    Role.ISSUER: (AreaKind.PROVINCE,),
}


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Accounts"),
        "auth.list_accounts",
        can_manage_accounts,
        lambda here: here.endpoint.startswith("auth.") and "account" in here.endpoint,
        position=110,
    ),
)
