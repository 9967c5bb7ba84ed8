"""Creating jobs and running them with progress that the page can poll."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.audit import services as audit
from portal.extensions import db
from portal.jobs.models import Job, JobState
from portal.models_base import utcnow

Progress = Callable[[int, int], None]
Handler = Callable[[Job, Progress], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        return function

    return register


def create_job(kind: str, area_id: int | None, params: dict[str, Any], actor=None) -> Job:
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(kind=kind, area_id=area_id, params=params,
              created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    audit.record("job.create", "job", job.id, {"kind": [None, kind], "params": [None, params]},
                 actor=actor)
    return job


def enqueue(job_id: int) -> None:
    """Hand a committed job to the queue. Takes the id, read before the commit, so that the
    caller's session starts no new transaction while an in-process job runs."""
    from portal.jobs.queue import huey, run_job

    huey.immediate = bool(current_app.config.get("HUEY_IMMEDIATE"))
    run_job(job_id)


def execute(job_id: int) -> None:
    """Run one job: each progress report commits the work done so far with it."""
    found = db.session.get(Job, job_id)
    if found is None or found.state != JobState.QUEUED:
        return
    job = found
    job.state = JobState.RUNNING
    job.started_at = job.heartbeat_at = utcnow()
    db.session.commit()

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
        job.heartbeat_at = utcnow()
        db.session.commit()

    try:
        result = HANDLERS[job.kind](job, progress)
    except Exception as error:  # the job page shows what went wrong; the worker goes on
        db.session.rollback()
        job.state = JobState.FAILED
        job.error = str(error)[:2000]
        job.finished_at = utcnow()
        current_app.logger.exception("job %s failed", job_id)
        db.session.commit()
        return
    job.state = JobState.DONE
    job.result = result
    job.finished_at = utcnow()
    db.session.commit()


def reap_stale(stale_after: timedelta, now: datetime | None = None) -> int:
    """Mark failed the running jobs that gave no sign of life for ``stale_after``: their
    worker died (killed, restarted, out of memory) and nobody will finish them. Their work
    was committed batch by batch with the progress, or not at all; the user starts again."""
    now = now or utcnow()
    result = db.session.execute(
        sa.update(Job)
        .where(Job.state == JobState.RUNNING,
               sa.func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at)
               < now - stale_after)
        .values(state=JobState.FAILED, finished_at=now,
                error=str(_("The worker stopped while running this job; start it again.")))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
