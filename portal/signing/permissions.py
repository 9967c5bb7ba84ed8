"""Who may sign what: the one place these rules live.

Seeds 000/003/004: the commune committee chair confirms the commune's verified persons; the
head of a vaccination site signs the site's daily vaccine-passport confirmations; the commune
police sign the handover list they made. Nobody signs outside their own unit.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.areas.models import Area, AreaKind
from portal.auth.models import Role, User


def can_sign_committee(user: User) -> bool:
    """The committee of a commune confirms its own commune's persons."""
    return user.role == Role.COMMITTEE and user.area.kind == AreaKind.COMMUNE


def can_sign_site(user: User) -> bool:
    """Site staff sign their own site's daily list."""
    return user.role == Role.VACCINATION_SITE and user.site_id is not None


def can_sign_handover(user: User, worklist) -> bool:
    return user.role == Role.POLICE and worklist.area_id == user.area_id


def can_sign_anything(user: User) -> bool:
    return can_sign_committee(user) or can_sign_site(user)


def can_sign_certificates(user: User) -> bool:
    """Per-person certificates are issued by the committee chair for the commune."""
    return can_sign_committee(user)


def can_record_minutes(user: User) -> bool:
    """Without a certificate the chair leads the paper record (biên bản)."""
    return can_sign_committee(user)


def document_scope(user: User):
    """SQL: the signed documents a user may open in the portal (the public sees only the
    verification page). Site staff see only their own site's documents, never another
    site's daily list in the same commune; the health station, the committee and the police
    see their commune's, the health authority its area's."""
    from portal.records.permissions import commune_scope
    from portal.signing.models import SignedDocument

    if user.role == Role.VACCINATION_SITE:
        if user.site_id is None:
            return sa.false()
        return SignedDocument.site_id == user.site_id
    return SignedDocument.area_id.in_(sa.select(Area.id).where(commune_scope(user)))


def can_revoke(user: User, document) -> bool:
    """A signed document is withdrawn by whoever signed it, or by the health authority or an
    administrator above it (the caller has already checked the document is in scope)."""
    if user.role in (Role.HEALTH_AUTHORITY, Role.ADMIN):
        return True
    return document.signer_id is not None and document.signer_id == user.id



def minutes_scope(user: User):
    """SQL: the minutes a user may open: the committee's own commune's."""
    from portal.signing.models import Minutes

    if not can_record_minutes(user):
        return sa.false()
    return Minutes.area_id == user.area_id
