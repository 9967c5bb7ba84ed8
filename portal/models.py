"""Every model, imported in one place for Alembic and the app factory."""

from portal.areas.models import Area, Site
from portal.audit.models import AuditEvent, AuditHead
from portal.auth.models import LoginSession, User
from portal.jobs.models import Job
from portal.records.models import Dose, Person
from portal.registry.models import MatchResult, RegisterEntry, RegisterExtract
from portal.signing.models import DocumentMember, SignedDocument, SigningCredential
from portal.worklists.models import Worklist, WorklistMember

__all__ = [
    "Area",
    "AuditEvent",
    "AuditHead",
    "DocumentMember",
    "Dose",
    "Job",
    "MatchResult",
    "LoginSession",
    "Person",
    "RegisterEntry",
    "RegisterExtract",
    "SignedDocument",
    "SigningCredential",
    "Site",
    "User",
    "Worklist",
    "WorklistMember",
]
