"""Who sees which records: the one place where record scope is decided.

Every user belongs to an area. A commune user sees the commune's residents, a
province user every commune of the province, a (legacy) district user the
communes under the district; vaccination-site staff reach as far as their site's
level (``reach``). Records outside scope are simply not found.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import abort
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area, AreaKind, Site
from portal.areas.scope import site_reach, within
from portal.auth.models import Role, User
from portal.core.navigation import MenuItem, in_blueprint
from portal.core.sql import StatementCache
from portal.core.text import collation_key
from portal.extensions import db
from portal.records.models import Person


def reach(user: User) -> Area:
    """The area whose persons the user finds (and, for site staff, doses): the user's own
    area, except for vaccination-site staff, whose reach follows the site's level
    (``portal.areas.scope.site_reach``). Correcting an identity stays with the health
    station (``can_correct``)."""
    site = user.site if user.role == Role.VACCINATION_SITE else None
    return user.area if site is None else site_reach(site)


def can_list_records(user: Any) -> bool:
    """Every account finds the records of its reach (``person_scope``), if only to read."""
    return bool(getattr(user, "is_authenticated", False))


def person_scope(user: User, person: Any = Person) -> sa.ColumnElement[bool]:
    """SQL: the persons the user may see; ``person`` an alias of ``Person`` when the query
    needs one (a subquery beside another person, as signing's documents do)."""
    return within(reach(user), person.commune_id, person.province_id)


def commune_scope(user: User) -> sa.ColumnElement[bool]:
    """The communes of the user's own area (lists, documents and matching are the unit's:
    a site's wider reach is for finding persons only)."""
    return sa.and_(within(user.area, Area.id, Area.province_id), Area.kind == AreaKind.COMMUNE)


def communes_in_reach(user: User) -> sa.ColumnElement[bool]:
    """The communes whose persons the user finds: the record list's commune filter."""
    return sa.and_(within(reach(user), Area.id, Area.province_id), Area.kind == AreaKind.COMMUNE)


class Place(NamedTuple):
    code: str
    name: str


# The filter choices' statement, kept built by the reach it was built for (every request
# of the record list runs it; see core.sql.StatementCache).
_PLACES = StatementCache(size=1024)


def places_in_scope(user: User) -> tuple[list[Place], list[Place]]:
    """The communes the user finds (in the Vietnamese alphabet's order) and their
    vaccination sites (by name): the record list's filter choices, in one statement."""
    area = reach(user)

    def build() -> sa.CompoundSelect:
        communes = sa.select(sa.literal(0).label("kind"), Area.code, Area.name).where(
            communes_in_reach(user)
        )
        sites = (
            sa.select(sa.literal(1), Site.code, Site.name)
            .join(Area, Site.commune_id == Area.id)
            .where(communes_in_reach(user))
        )
        return sa.union_all(communes, sites).order_by("kind", "name")

    rows = db.session.execute(_PLACES.get((area.kind, area.id), build)).all()
    return (
        sorted(
            (Place(r.code, r.name) for r in rows if r.kind == 0),
            key=lambda place: collation_key(place.name),
        ),
        [Place(r.code, r.name) for r in rows if r.kind == 1],
    )


def sites_in_scope(user: User) -> list[Site]:
    return list(
        db.session.scalars(
            sa.select(Site)
            .join(Area, Site.commune_id == Area.id)
            .where(communes_in_reach(user))
            .order_by(Site.name)
        )
    )


def get_person_or_404(user: User, person_id: int) -> Person:
    """A record outside the user's scope answers 404: its existence is not revealed."""
    person = db.session.scalar(sa.select(Person).where(Person.id == person_id, person_scope(user)))
    if person is None:
        abort(404)
    return person


def can_record_dose(user: User) -> bool:
    """Doses are recorded by vaccination-site staff, at their site (letter 8938/BYT-DP)."""
    return user.role == Role.VACCINATION_SITE and user.site_id is not None


def can_correct(user: User, person: Person) -> bool:
    """Identity corrections are the health station's, inside its own commune only (letter
    2262/BYT-CNTT, step 4: the police verify, the health station updates the records)."""
    area = user.area
    return (
        user.role == Role.HEALTH_STATION
        and area.kind == AreaKind.COMMUNE
        and person.commune_id == area.id
    )


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Records"),
        "records.list_records",
        can_list_records,
        in_blueprint("records"),
        position=20,
    ),
)
