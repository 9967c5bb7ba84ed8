"""The task queue's storage: a SQLite file by default, Redis when HUEY_URL says so."""

from __future__ import annotations

import os
import socket

import pytest
from huey import RedisHuey, SqliteHuey

from portal.jobs import queue


def test_default_storage_is_a_sqlite_file(monkeypatch, tmp_path):
    monkeypatch.delenv("HUEY_URL", raising=False)
    monkeypatch.setenv("HUEY_SQLITE", str(tmp_path / "q.sqlite3"))
    huey = queue._make_huey()
    assert isinstance(huey, SqliteHuey)
    task = huey.task()(lambda x: x * 2)
    result = task(21)
    assert huey.pending_count() == 1
    huey.execute(huey.dequeue())
    assert result.get() == 42


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_redis_storage_when_configured(monkeypatch):
    if not _redis_up():
        if os.environ.get("CI"):
            pytest.fail("CI has a Redis server on 127.0.0.1:6379")
        pytest.skip("no Redis server on 127.0.0.1:6379")
    # A Redis database of each run's own: .ci/run runs the SQLite and PostgreSQL suites at
    # once, and each flushes the database it uses.
    number = 14 if os.environ.get("DATABASE_URL", "").startswith("postgres") else 15
    monkeypatch.setenv("HUEY_URL", f"redis://127.0.0.1:6379/{number}")
    huey = queue._make_huey()
    assert isinstance(huey, RedisHuey)
    huey.flush()
    task = huey.task()(lambda x: x + 1)
    result = task(41)
    huey.execute(huey.dequeue())
    assert result.get() == 42
    huey.flush()


def test_the_worker_sees_every_periodic_task():
    """`huey_consumer portal.jobs.queue.huey` imports that module alone: every periodic task
    must be registered by that import."""
    import subprocess
    import sys

    code = (
        "import portal.jobs.queue as q; "
        "print(sorted(t.__name__ for t in q.huey._registry._periodic_tasks))"
    )
    names = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for task in (
        "snapshot_dashboard",
        "reap_stale_jobs",
        "escalate_overdue_feedback",
        "deliver_feedback_notifications",
    ):
        assert task in names, (task, names)
