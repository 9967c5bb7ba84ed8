"""Creating jobs and running them with progress that the page can poll.

A job may work for an *owner* record that the user knows it by (an import batch); the
job's kind then names, with its handler, how that owner follows the job to failed and
how the work is started again (``Owner``). A failure reaches the owner from one place,
``fail``, whether the handler raised or the reaper found the worker gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.audit import services as audit
from portal.core.clock import utcnow
from portal.core.sql import locked
from portal.extensions import db
from portal.jobs.models import Job, JobState

Progress = Callable[[int, int], None]
Handler = Callable[[Job, Progress], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}


class NotRetryable(Exception):
    """The work cannot be started again: it did not fail, or was started again already."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or _("This work has not failed, or was started again already: nothing was done.")
        )
        self.message = str(self)


@dataclass(frozen=True)
class Owner:
    """What a kind of job works for, and how that follows the job.

    ``fail(job)`` runs in the transaction that marks the job failed (the reason is in
    ``job.error``): it marks the owner failed, or removes what only the job needed (an
    upload), with an audit event. ``retry(job, actor)`` starts the work again for a failed
    job: the owner back to a runnable state and a new job, which it returns (flushed, not
    enqueued), or ``NotRetryable``. ``may_retry(user)`` is the domain's permission for it;
    ``page(job)`` is the owner's page, where the user comes back to."""

    fail: Callable[[Job], None] | None = None
    retry: Callable[[Job, Any], Job] | None = None
    may_retry: Callable[[Any], bool] | None = None
    page: Callable[[Job], str] | None = None


OWNERS: dict[str, Owner] = {}


def handler(kind: str, owner: Owner | None = None) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        if owner is not None:
            OWNERS[kind] = owner
        return function

    return register


def owner_of(kind: str) -> Owner:
    return OWNERS.get(kind) or Owner()


def create_job(kind: str, area_id: int | None, params: dict[str, Any], actor=None) -> Job:
    if kind not in HANDLERS:
        raise ValueError(f"unknown job kind {kind}")
    job = Job(kind=kind, area_id=area_id, params=params, created_by_id=getattr(actor, "id", None))
    db.session.add(job)
    db.session.flush()
    audit.record(
        "job.create", "job", job.id, {"kind": [None, kind], "params": [None, params]}, actor=actor
    )
    return job


def enqueue(job_id: int) -> None:
    """Hand a committed job to the queue. Takes the id, read before the commit, so that the
    caller's session starts no new transaction while an in-process job runs."""
    # Function-local, a genuine cycle: the queue's task runs ``execute`` below.
    from portal.jobs.queue import huey, run_job

    huey.immediate = bool(current_app.config.get("HUEY_IMMEDIATE"))
    run_job(job_id)


def execute(job_id: int) -> None:
    """Run one job: each progress report commits the work done so far with it.

    The job is claimed from ``queued`` in one statement, so a job the reaper gave up on, or
    a task delivered twice, is never run (nor run twice)."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(Job)
        .where(Job.id == job_id, Job.state == JobState.QUEUED)
        .values(state=JobState.RUNNING, started_at=now, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not getattr(claimed, "rowcount", 0):
        return
    found = db.session.get(Job, job_id)
    if found is None:
        return
    job = found
    # Testing only (the test that kills a worker mid-job): a pause after each progress
    # report, with the report committed, so that the job is known to be under way.
    pause = float(current_app.config.get("JOB_TEST_PAUSE_SECONDS") or 0)

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total
        job.heartbeat_at = utcnow()
        db.session.commit()
        if pause:
            time.sleep(pause)

    try:
        result = HANDLERS[job.kind](job, progress)
    except Exception as error:  # the job page shows what went wrong; the worker goes on
        db.session.rollback()
        current_app.logger.exception("job %s failed", job_id)
        fail(job, str(error))
        db.session.commit()
        return
    with db.session.no_autoflush:
        now_state = db.session.scalar(
            sa.select(Job.state).where(Job.id == job_id).with_for_update()
        )
    if now_state != JobState.RUNNING:
        # The reaper gave this job up meanwhile (its heartbeat stopped too long): its owner
        # failed, and may have been started again. What it did since its last report goes.
        db.session.rollback()
        current_app.logger.warning("job %s finished after it was given up: not kept", job_id)
        return
    job.state = JobState.DONE
    job.result = result
    job.finished_at = utcnow()
    db.session.commit()


def fail(job: Job, reason: str, now: datetime | None = None) -> None:
    """The job failed for ``reason``: it says so, and its owner follows (``Owner.fail``),
    in the caller's transaction, with an audit event for each. A job failed already (by
    the reaper, while its handler still ran) stays as it was."""
    old = job.state
    if old == JobState.FAILED:
        return
    job.state = JobState.FAILED
    job.error = reason[:2000]
    job.finished_at = now or utcnow()
    db.session.flush()
    audit.record(
        "job.fail",
        "job",
        job.id,
        {"state": [old.value, JobState.FAILED.value], "error": [None, job.error]},
    )
    owner = owner_of(job.kind)
    if owner.fail is not None:
        owner.fail(job)


def retry(job: Job, actor=None) -> Job:
    """Start a failed job's work again, through its owner: the new job, flushed (the
    caller commits, then enqueues it). ``NotRetryable`` when there is nothing to retry."""
    owner = owner_of(job.kind)
    if owner.retry is None:
        raise NotRetryable(_("This work cannot be started again from here."))
    return owner.retry(job, actor)


def again(job: Job, actor=None) -> Job:
    """The usual retry: a new job of the same kind, area and parameters, once. The failed
    job's row is locked while it is read, so a double click starts one new job."""
    locked(job)
    if job.state != JobState.FAILED or (job.result or {}).get("retried_by"):
        raise NotRetryable()
    new = create_job(job.kind, job.area_id, dict(job.params or {}), actor=actor)
    job.result = dict(job.result or {}) | {"retried_by": new.id}
    db.session.flush()
    audit.record("job.retry", "job", job.id, {"retried_by": [None, new.id]}, actor=actor)
    return new


def reap_stale(
    stale_after: timedelta, now: datetime | None = None, waiting: Collection[int] = ()
) -> int:
    """Mark failed the jobs nobody will finish, with their owners:

    - running jobs that gave no sign of life for ``stale_after``: their worker died
      (killed, restarted, out of memory). Their work was committed batch by batch with the
      progress, or not at all; the user starts again from the owner's page;
    - jobs still queued ``stale_after`` after their creation that are not ``waiting`` in
      the queue (the ids the queue still holds): their task was lost (a worker died taking
      it, or failed to claim it). Failing them removes their uploads (``Owner.fail``)."""
    now = now or utcnow()
    limit = now - stale_after
    lost = sa.or_(
        sa.and_(
            Job.state == JobState.RUNNING,
            sa.func.coalesce(Job.heartbeat_at, Job.started_at, Job.created_at) < limit,
        ),
        sa.and_(
            Job.state == JobState.QUEUED,
            Job.created_at < limit,
            Job.id.not_in(list(waiting)) if waiting else sa.true(),
        ),
    )
    jobs = list(db.session.scalars(sa.select(Job).where(lost).order_by(Job.id).with_for_update()))
    for job in jobs:
        reason = (
            _("The worker stopped while running this job; start it again.")
            if job.state == JobState.RUNNING
            else _("No worker took this job from the queue; start it again.")
        )
        fail(job, str(reason), now)
    return len(jobs)
