"""A running job whose worker died is marked failed, with a message the job page shows."""

from __future__ import annotations

from datetime import timedelta

from portal.core.clock import utcnow
from portal.extensions import db
from portal.jobs import services
from portal.jobs.models import Job, JobState


def _job(state: JobState, heartbeat_minutes_ago: int | None) -> Job:
    now = utcnow()
    job = Job(
        kind="match",
        area_id=None,
        params={},
        state=state,
        started_at=now - timedelta(hours=3),
        heartbeat_at=(
            now - timedelta(minutes=heartbeat_minutes_ago)
            if heartbeat_minutes_ago is not None
            else None
        ),
    )
    db.session.add(job)
    db.session.flush()
    return job


def test_only_silent_running_jobs_are_reaped():
    dead = _job(JobState.RUNNING, 45)
    never_reported = _job(JobState.RUNNING, None)  # started three hours ago
    alive = _job(JobState.RUNNING, 5)
    finished = _job(JobState.DONE, 300)
    assert services.reap_stale(timedelta(minutes=30)) == 2
    db.session.commit()
    for job in (dead, never_reported, alive, finished):
        db.session.refresh(job)
    assert dead.state == never_reported.state == JobState.FAILED
    assert "dừng" in dead.error and dead.finished_at is not None
    assert alive.state == JobState.RUNNING and finished.state == JobState.DONE


def test_progress_keeps_the_heartbeat(monkeypatch):
    from portal.jobs.services import HANDLERS

    seen = []

    def work(job, progress):
        progress(1, 2)
        seen.append(job.heartbeat_at)
        return {}

    monkeypatch.setitem(HANDLERS, "test-heartbeat", work)
    job = services.create_job("test-heartbeat", None, {})
    db.session.commit()
    services.execute(job.id)
    assert seen and seen[0] is not None
    assert services.reap_stale(timedelta(minutes=30)) == 0
