"""Every model, imported in one place for Alembic and the app factory."""

from portal.api.models import ApiClient, IdempotencyRecord
from portal.areas.models import Area, Site
from portal.audit.models import AuditEvent, AuditHead
from portal.auth.models import (
    LoginSession,
    MfaRequirement,
    Passkey,
    RecoveryCode,
    TotpFactor,
    User,
)
from portal.dashboard.models import DailyTally, Target
from portal.feedback.models import (
    Answer,
    Attachment,
    Escalation,
    FailureCount,
    Feedback,
    Notification,
    OpenCount,
    RateHit,
    RoutingRule,
)
from portal.imports.models import ImportBatch
from portal.jobs.models import Job
from portal.passport.models import DocumentSigner, Passport
from portal.records.models import Dose, DoseTally, Person, PersonTally, TallyPause
from portal.registry.models import MatchResult, RegisterEntry, RegisterExtract
from portal.signing.models import (
    DocumentMember,
    Minutes,
    MinutesMember,
    SignedDocument,
    SigningCredential,
    VerificationCount,
)
from portal.worklists.models import Worklist, WorklistMember

__all__ = [
    "Answer",
    "ApiClient",
    "Attachment",
    "Escalation",
    "FailureCount",
    "Feedback",
    "IdempotencyRecord",
    "Notification",
    "OpenCount",
    "RateHit",
    "RoutingRule",
    "Area",
    "AuditEvent",
    "AuditHead",
    "DailyTally",
    "DocumentMember",
    "DocumentSigner",
    "Passport",
    "Minutes",
    "MinutesMember",
    "Dose",
    "DoseTally",
    "ImportBatch",
    "Job",
    "MatchResult",
    "LoginSession",
    "MfaRequirement",
    "Passkey",
    "RecoveryCode",
    "TotpFactor",
    "Person",
    "PersonTally",
    "RegisterEntry",
    "RegisterExtract",
    "SignedDocument",
    "SigningCredential",
    "VerificationCount",
    "Site",
    "TallyPause",
    "Target",
    "User",
    "Worklist",
    "WorklistMember",
]
