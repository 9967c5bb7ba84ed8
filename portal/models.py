"""Every model, imported in one place for Alembic and the app factory."""

from portal.areas.models import Area, Site
from portal.audit.models import AuditEvent, AuditHead
from portal.auth.models import LoginSession, User
from portal.imports.models import ImportBatch
from portal.jobs.models import Job
from portal.records.models import Dose, Person
from portal.registry.models import MatchResult, RegisterEntry, RegisterExtract
from portal.worklists.models import Worklist, WorklistMember

__all__ = [
    "Area",
    "AuditEvent",
    "AuditHead",
    "Dose",
    "ImportBatch",
    "Job",
    "MatchResult",
    "LoginSession",
    "Person",
    "RegisterEntry",
    "RegisterExtract",
    "Site",
    "User",
    "Worklist",
    "WorklistMember",
]
