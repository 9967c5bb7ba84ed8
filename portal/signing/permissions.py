"""Who may sign what, and who sees which signed document: the one place these rules live.

Letters 9438/BYT-CNTT and 2262/BYT-CNTT: the commune committee chair confirms the commune's
verified persons; the head of a vaccination site signs the site's daily vaccine-passport
confirmations; the commune police sign the handover list they made. Nobody signs outside
their own unit, and nobody sees a person outside their area through a signed document
(``document_scope``, ``whole_document``, ``person_shown``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from portal.areas.models import Area, AreaKind
from portal.auth.models import Role, User
from portal.core.accounts import SigningMethod
from portal.core.navigation import MenuItem, in_blueprint
from portal.records.models import Person
from portal.records.permissions import commune_scope, person_scope
from portal.signing.models import DocumentKind, DocumentMember, Minutes, SignedDocument
from portal.worklists.permissions import can_see_handovers


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


def signs_documents(user: User) -> bool:
    """Anyone who signs a list: the committee, a site's staff, the police (handover)."""
    return can_sign_anything(user) or user.role == Role.POLICE


def can_enrol_browser_key(user: User) -> bool:
    """A signer makes a key in their browser when the administrator chose that method for
    them, or chose none yet (issue 17)."""
    return signs_documents(user) and user.signing_method in (None, SigningMethod.BROWSER)


def can_sign_certificates(user: User) -> bool:
    """Per-person certificates are issued by the committee chair for the commune."""
    return can_sign_committee(user)


def can_record_minutes(user: User) -> bool:
    """Without a certificate the chair leads the paper record (biên bản)."""
    return can_sign_committee(user)


def person_shown(user: User, person_id: Any) -> sa.ColumnElement[bool]:
    """SQL: the person whose id is ``person_id`` (a member's column) lies in the user's area,
    as their records do. The one test of who a document, its listings and its links may show
    a user (issue 14, item 2): no user sees a person outside their area through a document."""
    person = aliased(Person)
    return sa.exists().where(person.id == person_id, person_scope(user, person))


def _has_member(user: User, shown: bool) -> sa.ColumnElement[bool]:
    """SQL on ``SignedDocument``: it has a member the user is (``shown``) or is not shown.
    Aliased, so that a query already joining the members (a person's documents) does not
    correlate with its own."""
    member = aliased(DocumentMember)
    inside = person_shown(user, member.person_id)
    return sa.exists().where(member.document_id == SignedDocument.id, inside if shown else ~inside)


def whole_document(user: User) -> sa.ColumnElement[bool]:
    """SQL on ``SignedDocument``: no member lies outside the user's area. Only then does the
    user see the document whole: every person on its page, its signed file (which names
    everyone, and cannot be cut down without breaking the signature), its verification link,
    and the right to revoke it (which reopens every person)."""
    return ~_has_member(user, shown=False)


def document_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL: the signed documents a user may open in the portal (the public sees only the
    verification page): those with a member in the user's area, whole or reduced to those
    members (``whole_document``), wherever the document is stored. A province-level site's
    daily list of three communes' residents is thus each commune's, reduced to its own. Site
    staff see only their own site's documents, never another site's daily list in the same
    commune. (Every document has members: each way of signing refuses an empty list.) A signed
    handover list is only for those with a part in handovers, as the handover pages are
    (issue 14, item 3: police, health station, health authorities)."""
    if user.role == Role.VACCINATION_SITE:
        if user.site_id is None:
            return sa.false()
        return sa.and_(SignedDocument.site_id == user.site_id, _has_member(user, shown=True))
    if not can_see_handovers(user):
        return sa.and_(
            SignedDocument.kind != DocumentKind.HANDOVER_LIST, _has_member(user, shown=True)
        )
    return _has_member(user, shown=True)


def unit_documents(user: User) -> sa.ColumnElement[bool]:
    """SQL: the documents of the user's unit, which the signing page lists (each as
    ``document_scope`` and ``whole_document`` show it): their site's, or those stored under
    their area. It keeps that list on the stored area's index; a document stored elsewhere
    that holds their residents is reached from each resident's record."""
    if user.role == Role.VACCINATION_SITE:
        return SignedDocument.site_id == user.site_id if user.site_id else sa.false()
    return SignedDocument.area_id.in_(sa.select(Area.id).where(commune_scope(user)))


def can_revoke(user: User, document, whole: bool) -> bool:
    """A signed document is withdrawn by whoever signed it, or by the health authority or an
    administrator above it (the caller has already checked the document is in scope), and
    only by a user who sees it whole: revoking reopens every person on it."""
    if not whole:
        return False
    if user.role in (Role.HEALTH_AUTHORITY, Role.ADMIN):
        return True
    return document.signer_id is not None and document.signer_id == user.id


def minutes_scope(user: User):
    """SQL: the minutes a user may open: the committee's own commune's."""
    if not can_record_minutes(user):
        return sa.false()
    return Minutes.area_id == user.area_id


# The menu's entries of this domain (core.navigation), shown to whom the rules above let in.
MENU = (
    MenuItem(
        _l("Awaiting signature"),
        "signing.show_awaiting",
        can_sign_anything,
        in_blueprint("signing"),
        position=90,
    ),
)
