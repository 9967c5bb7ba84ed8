"""Who sees which records: the one place where record scope is decided.

Every user belongs to an area. A commune user sees the commune's residents, a
province user every commune of the province, a (legacy) district user the
communes under the district. Records outside scope are simply not found.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from portal.areas.models import Area, AreaKind, Site
from portal.auth.models import User
from portal.extensions import db
from portal.records.models import Person
from portal.text import collation_key


def person_scope(user: User) -> sa.ColumnElement[bool]:
    area = user.area
    if area.kind == AreaKind.COMMUNE:
        return Person.commune_id == area.id
    if area.kind == AreaKind.PROVINCE:
        return Person.province_id == area.id
    return Person.commune_id.in_(sa.select(Area.id).where(Area.parent_id == area.id))


def commune_scope(user: User) -> sa.ColumnElement[bool]:
    area = user.area
    if area.kind == AreaKind.COMMUNE:
        return Area.id == area.id
    if area.kind == AreaKind.PROVINCE:
        return sa.and_(Area.province_id == area.id, Area.kind == AreaKind.COMMUNE)
    return sa.and_(Area.parent_id == area.id, Area.kind == AreaKind.COMMUNE)


def communes_in_scope(user: User) -> list[Area]:
    return sorted(db.session.scalars(sa.select(Area).where(commune_scope(user))),
                  key=lambda area: collation_key(area.name))


def sites_in_scope(user: User) -> list[Site]:
    return list(
        db.session.scalars(
            sa.select(Site)
            .join(Area, Site.commune_id == Area.id)
            .where(commune_scope(user))
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
    """Doses are recorded by vaccination-site staff, at their site (seed 002)."""
    from portal.auth.models import Role

    return user.role == Role.VACCINATION_SITE and user.site_id is not None


def can_correct(user: User, person: Person) -> bool:
    """Identity corrections are the health station's, inside its own commune only (seed 003,
    step 4: the police verify, the health station updates the records)."""
    from portal.auth.models import Role

    area = user.area
    return (
        user.role == Role.HEALTH_STATION
        and area.kind == AreaKind.COMMUNE
        and person.commune_id == area.id
    )
