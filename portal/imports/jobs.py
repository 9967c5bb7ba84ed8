"""The dry run and the commit of a large import, as jobs on the task queue.

A job's progress report commits what was done so far; the dry run writes only the batch's
outcome at its end, and the commit reports progress only before its first write, so its
writes stay all or nothing. A failed job (or one whose worker died) leaves the batch marked
failed and nothing else; the batch's page starts the work again (``retry``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for

from portal.audit import services as audit
from portal.auth.models import User
from portal.core.sql import locked
from portal.extensions import db
from portal.imports import permissions, services
from portal.imports.models import BatchState, ImportBatch
from portal.jobs.models import Job
from portal.jobs.services import NotRetryable, Owner, Progress, again, create_job, handler

# The state a batch is in while each kind of job runs for it.
RUNNING = {
    "records_import_check": BatchState.CHECKING,
    "records_import_commit": BatchState.COMMITTING,
}


def start(kind: str, batch: ImportBatch, actor=None) -> Job:
    job = create_job(kind, batch.commune_id, {"batch": batch.id}, actor=actor)
    batch.job_id = job.id
    db.session.flush()
    return job


def _actor(job: Job):
    return db.session.get(User, job.created_by_id) if job.created_by_id else None


def fail_batch(job: Job) -> None:
    """The batch follows its job to failed (the job keeps the reason, which the batch's
    page shows); nothing of a commit was written, its transaction never committed."""
    batch = db.session.scalar(
        sa.select(ImportBatch)
        .where(
            ImportBatch.id == job.params.get("batch"),
            ImportBatch.job_id == job.id,
            ImportBatch.state == RUNNING[job.kind],
        )
        .with_for_update()
    )
    if batch is None:
        return
    old = batch.state
    batch.state = BatchState.FAILED
    db.session.flush()
    audit.record(
        "import.fail",
        "import_batch",
        batch.id,
        {"state": [old.value, batch.state.value], "job": [None, job.id]},
    )


def retry_batch(job: Job, actor=None) -> Job:
    """The failed batch checked or committed again by a new job; refused unless the batch
    failed with this job (a double click finds it under way already)."""
    batch = db.session.get(ImportBatch, job.params.get("batch"))
    if batch is None or locked(batch).state != BatchState.FAILED or batch.job_id != job.id:
        raise NotRetryable()
    new = again(job, actor)
    old = batch.state
    batch.state = RUNNING[job.kind]
    batch.job_id = new.id
    db.session.flush()
    audit.record(
        "import.retry",
        "import_batch",
        batch.id,
        {"state": [old.value, batch.state.value], "job": [job.id, new.id]},
        actor=actor,
    )
    return new


def batch_page(job: Job) -> str:
    return url_for("imports.show_import", batch_id=job.params["batch"])


OWNER = Owner(fail=fail_batch, retry=retry_batch, may_retry=permissions.can_import, page=batch_page)


@handler("records_import_check", owner=OWNER)
def run_check(job: Job, progress: Progress) -> dict[str, Any]:
    batch_id = job.params["batch"]
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        return {"batch": batch_id}
    services.check_batch(batch, progress)
    return {
        "batch": batch_id,
        "state": batch.state.value,
        "rows": batch.rows,
        "errors": batch.error_rows,
    }


@handler("records_import_commit", owner=OWNER)
def run_commit(job: Job, progress: Progress) -> dict[str, Any]:
    batch_id = job.params["batch"]
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        return {"batch": batch_id}
    summary = services.commit_batch(batch, _actor(job), progress)
    return {"batch": batch_id, **summary}
