"""A worker killed mid-job (issue 15, item 3): a real huey consumer takes an import's
commit, is killed with SIGKILL while the job runs, and the reaper fails the job and its
batch, with the reason; the batch's page then starts the commit again, and it completes.

The consumer and the portal share a database of their own (tests/live.py), which they
commit to for real: a fresh SQLite file, or a PostgreSQL database beside the suite's. The
job is held under way by ``JOB_TEST_PAUSE_SECONDS``: the worker pauses after each committed
progress report. And first, the worker's ordinary path: a real consumer takes a queued
commit and completes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from portal.areas import services as area_services
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.core.database import reading
from portal.extensions import db
from portal.imports.models import BatchState, ImportBatch
from portal.jobs import queue
from portal.jobs.models import Job, JobState
from portal.records.models import Person
from tests.conftest import OWN, PASSWORD, IsolatedClient, csrf_token, login
from tests.imports.helpers import GOOD, upload, xlsx
from tests.live import live_config, migrated_app

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _worker(url: str, secret: str, tmp_path: Path, pause: str = "300") -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST", "COV_", "MIGRATIONS_"))
    }
    env.update(
        DATABASE_URL=url,
        HUEY_SQLITE=str(tmp_path / "huey.sqlite3"),
        PORTAL_ENV="development",
        SECRET_KEY=secret,
        JOB_TEST_PAUSE_SECONDS=pause,
        AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit-checkpoints"),
    )
    return subprocess.Popen(
        [
            str(BIN / "huey_consumer"),
            "portal.jobs.queue.huey",
            "--workers",
            "1",
            "--worker-type",
            "thread",
            "--no-periodic",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition, what: str, worker: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()  # a new snapshot: the worker's commits
        if condition():
            return
        assert worker.poll() is None, f"the worker ended ({worker.returncode}) before {what}"
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


class Setting(NamedTuple):
    portal: Flask
    client: FlaskClient
    url: str
    batch: ImportBatch
    workers: list[subprocess.Popen]  # started by the test, stopped here at the end


@contextmanager
def checked_batch(monkeypatch, tmp_path: Path, secret: str) -> Iterator[Setting]:
    """A portal on a database of its own, its health station logged in, an Excel import
    uploaded and checked (the dry run in-process, the suite's mode), and the queue in a
    huey file that a real consumer reads: the commit that follows goes through it. The
    test's own reads stay deferred on SQLite (``reading``): an idle transaction of the
    test must not hold the write lock that the requests and the worker take."""
    with live_config(tmp_path) as database:
        portal = migrated_app(
            {
                **database,
                "TESTING": True,
                "SECRET_KEY": secret,
                "IMPORT_INLINE_BYTES": 0,  # imports go through jobs
                "AUDIT_CHECKPOINT_DIR": str(tmp_path / "audit-checkpoints"),
                "SIGNING_DEMO_PKI_DIR": str(tmp_path / "demo-pki"),
            }
        )
        portal.test_client_class = IsolatedClient
        client = portal.test_client()
        workers: list[subprocess.Popen] = []
        try:
            with portal.app_context(), reading():
                create_user(
                    "tram.y.te",
                    PASSWORD,
                    Role.HEALTH_STATION,
                    area_services.area_by_code(OWN),
                    "Trạm y tế",
                )
                db.session.commit()
                assert login(client, "tram.y.te").status_code == 303
                uploaded = upload(client, xlsx(GOOD))
                assert uploaded.status_code == 303
                batch_id = int(uploaded.headers["Location"].rsplit("/", 1)[1])
                db.session.rollback()
                batch = db.session.get(ImportBatch, batch_id)
                assert batch is not None and batch.state == BatchState.CHECKED
                monkeypatch.setitem(
                    queue.huey.storage_kwargs, "filename", str(tmp_path / "huey.sqlite3")
                )
                monkeypatch.setitem(portal.config, "HUEY_IMMEDIATE", False)
                yield Setting(
                    portal, client, portal.config["SQLALCHEMY_DATABASE_URI"], batch, workers
                )
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(timeout=30)
            queue.huey.immediate = True
            with portal.app_context():
                db.session.remove()
                db.engine.dispose()


def commit(client: FlaskClient, batch: ImportBatch) -> None:
    token = csrf_token(client, f"/imports/{batch.id}")
    response = client.post(f"/imports/{batch.id}/commit", data={"csrf_token": token})
    assert response.status_code == 303


@pytest.mark.committing
def test_a_real_worker_takes_a_queued_commit_and_completes_it(monkeypatch, tmp_path):
    """The path the suite's immediate mode skips: the task serialised into huey's storage,
    dequeued by ``huey_consumer portal.jobs.queue.huey`` in another process, run there with
    the worker's own app (portal.jobs.queue.app_for_task), committed to the database."""
    with checked_batch(monkeypatch, tmp_path, "worker-test") as setting:
        batch = setting.batch
        commit(setting.client, batch)
        db.session.rollback()
        job_id = batch.job_id
        # Queued, not run: no worker yet, and the request did not run it.
        assert db.session.get(Job, job_id).state == JobState.QUEUED
        assert queue.waiting_job_ids() == {job_id}

        worker = _worker(setting.url, "worker-test", tmp_path, pause="0")
        setting.workers.append(worker)
        _wait_for(
            lambda: db.session.get(Job, job_id).state == JobState.DONE,
            "the worker to complete the commit",
            worker,
        )
        assert batch.state == BatchState.COMMITTED and batch.persons_created == 4
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 4
        assert queue.waiting_job_ids() == set()


@pytest.mark.committing
def test_a_killed_commit_fails_its_batch_which_is_retried_from_its_page(monkeypatch, tmp_path):
    with checked_batch(monkeypatch, tmp_path, "kill-test") as setting:
        portal, client, batch, batch_id = (
            setting.portal,
            setting.client,
            setting.batch,
            setting.batch.id,
        )
        worker = _worker(setting.url, "kill-test", tmp_path)
        setting.workers.append(worker)
        commit(client, batch)
        monkeypatch.setitem(portal.config, "HUEY_IMMEDIATE", True)
        queue.huey.immediate = True
        db.session.rollback()
        job_id = batch.job_id

        def under_way() -> bool:
            job = db.session.get(Job, job_id)
            return job.state == JobState.RUNNING and job.total > 0

        _wait_for(under_way, "the commit job to be under way", worker)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        db.session.rollback()
        # What the issue saw: the job running and the batch committing, forever.
        assert db.session.get(Job, job_id).state == JobState.RUNNING
        assert batch.state == BatchState.COMMITTING

        # The worker's periodic reaper, as it runs once the job is old enough.
        monkeypatch.setitem(portal.config, "JOB_STALE_MINUTES", 0)
        queue.reap_stale_jobs.call_local()
        db.session.rollback()
        job = db.session.get(Job, job_id)
        assert job.state == JobState.FAILED and "dừng" in job.error
        assert batch.state == BatchState.FAILED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 0
        page = client.get(f"/imports/{batch_id}").get_data(as_text=True)
        assert job.error in page and 'data-testid="retry"' in page

        # Retried from the batch's page: a new job, which completes.
        token = csrf_token(client, f"/imports/{batch_id}")
        response = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token})
        assert response.status_code == 303
        assert response.headers["Location"].endswith(f"/imports/{batch_id}")
        db.session.rollback()
        assert batch.job_id != job_id
        assert db.session.get(Job, batch.job_id).state == JobState.DONE
        assert batch.state == BatchState.COMMITTED and batch.persons_created == 4
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 4
