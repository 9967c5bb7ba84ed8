"""The dry run and the commit of a large import, as jobs on the task queue.

A job's progress report commits what was done so far; the dry run writes only the batch's
outcome at its end, and the commit reports progress only before its first write, so its
writes stay all or nothing. A failed job leaves the batch marked failed and nothing else.
"""

from __future__ import annotations

from typing import Any

from portal.extensions import db
from portal.imports import services
from portal.imports.models import BatchState, ImportBatch
from portal.jobs.models import Job
from portal.jobs.services import Progress, create_job, handler


def start(kind: str, batch: ImportBatch, actor=None) -> Job:
    job = create_job(kind, batch.commune_id, {"batch": batch.id}, actor=actor)
    batch.job_id = job.id
    db.session.flush()
    return job


def _actor(job: Job):
    from portal.auth.models import User

    return db.session.get(User, job.created_by_id) if job.created_by_id else None


def _failed(batch_id: int, error: Exception) -> None:
    db.session.rollback()
    batch = db.session.get(ImportBatch, batch_id)
    if batch is not None:
        batch.state = BatchState.FAILED
        batch.report = {**(batch.report or {}), "failure": str(error)[:500]}
        db.session.commit()


@handler("records_import_check")
def run_check(job: Job, progress: Progress) -> dict[str, Any]:
    batch_id = job.params["batch"]
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        return {"batch": batch_id}
    try:
        services.check_batch(batch, progress)
    except Exception as error:
        _failed(batch_id, error)
        raise
    return {"batch": batch_id, "state": batch.state.value, "rows": batch.rows,
            "errors": batch.error_rows}


@handler("records_import_commit")
def run_commit(job: Job, progress: Progress) -> dict[str, Any]:
    batch_id = job.params["batch"]
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        return {"batch": batch_id}
    try:
        summary = services.commit_batch(batch, _actor(job), progress)
    except Exception as error:
        _failed(batch_id, error)
        raise
    return {"batch": batch_id, **summary}
