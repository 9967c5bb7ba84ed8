"""The task queue: huey, on a SQLite file by default and on Redis when HUEY_URL says so.

Run the worker beside the web server (``make demo`` does)::

    huey_consumer portal.jobs.queue.huey --workers 2

Tests run tasks in-process (``huey.immediate``), which is huey's own testing mode.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, current_app, has_app_context
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey, Task

from portal.core.files import create_private


def _make_huey() -> Huey:
    url = os.environ.get("HUEY_URL", "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("portal", url=url)
    path = os.environ.get("HUEY_SQLITE") or str(
        Path(__file__).resolve().parent.parent.parent / "instance" / "huey.sqlite3"
    )
    create_private(path)
    return SqliteHuey("portal", filename=path)


huey = _make_huey()
_worker_app: Flask | None = None


def app_for_task() -> Flask:
    """The running app in-process (immediate mode), else the worker's own app."""
    global _worker_app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _worker_app is None:
        from portal import create_app

        _worker_app = create_app()
    return _worker_app


@huey.task()
def run_job(job_id: int) -> None:
    from portal.jobs.services import execute

    with app_for_task().app_context():
        execute(job_id)


# Periodic work. Defined here so that the worker, which imports only this module, knows it.


@huey.periodic_task(crontab(minute="*/30"))
def snapshot_dashboard() -> None:
    """Today's copy of the dashboard counters: the history that projections extrapolate."""
    from portal.dashboard.services import snapshot

    with app_for_task().app_context():
        from portal.extensions import db

        snapshot()
        db.session.commit()


def waiting_job_ids() -> set[int]:
    """The jobs whose task is still in the queue: a worker will take them."""
    from portal.signing.jobs import run_signing_job

    tasks: tuple[type[Task], ...] = (run_job.task_class, run_signing_job.task_class)
    return {int(task.args[0]) for task in huey.pending() if isinstance(task, tasks) and task.args}


@huey.periodic_task(crontab(minute="*/10"))
def reap_stale_jobs() -> None:
    """Jobs whose worker died, or whose task was lost, are marked failed (with their owner
    records) instead of "running" or "queued" forever."""
    from datetime import timedelta

    from portal.jobs.services import reap_stale

    with app_for_task().app_context():
        from portal.extensions import db

        minutes = int(app_for_task().config.get("JOB_STALE_MINUTES", 30))
        reap_stale(timedelta(minutes=minutes), waiting=waiting_job_ids())
        db.session.commit()


# Periodic tasks of other domains register themselves when imported; the worker imports
# only this module, so it imports them here (at the end: they import this module's huey).
from portal.feedback import jobs as _feedback_jobs  # noqa: E402,F401
from portal.signing import jobs as _signing_jobs  # noqa: E402,F401
