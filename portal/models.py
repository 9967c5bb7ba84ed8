"""Every model, imported in one place for Alembic and the app factory."""

from portal.areas.models import Area, Site
from portal.audit.models import AuditEvent, AuditHead
from portal.auth.models import LoginSession, User
from portal.records.models import Dose, Person
from portal.registry.models import RegisterEntry, RegisterExtract

__all__ = [
    "Area",
    "AuditEvent",
    "AuditHead",
    "Dose",
    "LoginSession",
    "Person",
    "RegisterEntry",
    "RegisterExtract",
    "Site",
    "User",
]
