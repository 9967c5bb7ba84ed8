"""The background jobs' words: their audit actions, kinds and states. A job's kind is
named here for every domain that runs one. Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.jobs.models import JobState

ACTIONS = {
    "job.create": _l("Background job started"),
    "job.fail": _l("Background job failed"),
    "job.retry": _l("Background job started again"),
}

ENTITIES = {"job": _l("Background job")}

FIELDS = {
    "params": _l("Parameters"),
    "error": _l("Error"),
    "retried_by": _l("Started again as job"),
}

KIND_LABELS = {
    "match": _l("Matching against the population database"),
    "register_import": _l("Importing a population register extract"),
    "sign_certificates": _l("Signing vaccination certificates"),
    "records_import_check": _l("Checking a spreadsheet of persons and doses"),
    "records_import_commit": _l("Importing a spreadsheet of persons and doses"),
}

STATE_LABELS = {
    JobState.QUEUED: _l("waiting"),
    JobState.RUNNING: _l("running"),
    JobState.DONE: _l("done"),
    JobState.FAILED: _l("failed"),
}

VALUES = {"kind": KIND_LABELS, "state": STATE_LABELS}
