"""The task queue: huey, on a SQLite file by default and on Redis when HUEY_URL says so.

Run the worker beside the web server (``make demo`` does)::

    huey_consumer portal.jobs.queue.huey --workers 2

Tests run tasks in-process (``huey.immediate``), which is huey's own testing mode.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import RedisHuey, SqliteHuey, crontab
from huey.api import Huey, Task

from portal.core.domains import domain_modules
from portal.core.files import create_private
from portal.extensions import db
from portal.jobs.services import execute, reap_stale


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
        # Function-local: the app factory is the composition root above every layer; the
        # worker builds its app on its first task, once every module is loaded.
        from portal import create_app

        _worker_app = create_app()
    return _worker_app


# The tasks whose first argument is a job's id (carries_a_job).
JOB_TASKS: list[type[Task]] = []


def carries_a_job(task: Any) -> Any:
    """Mark a task whose first argument is a job's id (as ``run_job``'s is), so that the
    reaper knows its jobs are still waiting in the queue."""
    JOB_TASKS.append(task.task_class)
    return task


@carries_a_job
@huey.task()
def run_job(job_id: int) -> None:
    with app_for_task().app_context():
        execute(job_id)


def waiting_job_ids() -> set[int]:
    """The jobs whose task is still in the queue: a worker will take them."""
    tasks = tuple(JOB_TASKS)
    return {int(task.args[0]) for task in huey.pending() if isinstance(task, tasks) and task.args}


# Periodic work of the queue itself. A domain's own periodic tasks are in its jobs.py
# (found by name at the end of this module).


@huey.periodic_task(crontab(minute="*/10"))
def reap_stale_jobs() -> None:
    """Jobs whose worker died, or whose task was lost, are marked failed (with their owner
    records) instead of "running" or "queued" forever."""
    with app_for_task().app_context():
        minutes = int(app_for_task().config.get("JOB_STALE_MINUTES", 30))
        reap_stale(timedelta(minutes=minutes), waiting=waiting_job_ids())
        db.session.commit()


# The domains' tasks register themselves when their jobs.py is imported; the worker imports
# only this module, so it imports them here (at the end: they import this module's huey).
domain_modules("jobs")
