"""A worker killed mid-job (issue 15, item 3): a real huey consumer takes an import's
commit, is killed with SIGKILL while the job runs, and the reaper fails the job and its
batch, with the reason; the batch's page then starts the commit again, and it completes.

The consumer and the portal share a database of their own, which they commit to for real:
a fresh SQLite file, or on PostgreSQL a schema of its own in the suite's database (as its
owner), dropped at the end. The job is held under way by ``JOB_TEST_PAUSE_SECONDS``: the
worker pauses after each committed progress report.
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
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from portal import create_app
from portal.areas import services as area_services
from portal.auth.models import Role
from portal.auth.services import create_user
from portal.extensions import db
from portal.imports.models import BatchState, ImportBatch
from portal.jobs import queue
from portal.jobs.models import Job, JobState
from portal.records.models import Person
from tests.conftest import OWN, PASSWORD, IsolatedClient, csrf_token, login
from tests.imports.test_imports import GOOD, upload, xlsx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@contextmanager
def own_database(app, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database like the suite's, removed afterwards."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        yield "sqlite:///" + str(tmp_path / "worker.sqlite3")
        return
    owner_url = app.config.get("MIGRATIONS_DATABASE_URL") or url
    schema = f"kill_test_{os.getpid()}"
    engine = sa.create_engine(owner_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in owner_url else "?"
    try:
        # That schema alone on the path: the suite's tables in public stay out of sight.
        yield owner_url + separator + "options=" + quote(f"-csearch_path={schema}")
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        engine.dispose()


def _worker(url: str, secret: str, tmp_path: Path) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PYTEST", "COV_", "MIGRATIONS_"))}
    env.update(DATABASE_URL=url, HUEY_SQLITE=str(tmp_path / "huey.sqlite3"),
               PORTAL_ENV="development", SECRET_KEY=secret, JOB_TEST_PAUSE_SECONDS="300",
               AUDIT_CHECKPOINT_DIR=str(tmp_path / "audit-checkpoints"))
    return subprocess.Popen(
        [str(BIN / "huey_consumer"), "portal.jobs.queue.huey", "--workers", "1",
         "--worker-type", "thread", "--no-periodic"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(condition, what: str, worker: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()  # a new snapshot: the worker's commits
        if condition():
            return
        assert worker.poll() is None, f"the worker ended ({worker.returncode}) before {what}"
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.committing
def test_a_killed_commit_fails_its_batch_which_is_retried_from_its_page(
        app, monkeypatch, tmp_path):
    with own_database(app, tmp_path) as url:
        portal = create_app({
            "SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "PORTAL_ENV": "testing",
            "SECRET_KEY": "kill-test", "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024,
            "HUEY_IMMEDIATE": True, "IMPORT_INLINE_BYTES": 0,  # imports go through jobs
            "AUDIT_CHECKPOINT_DIR": str(tmp_path / "audit-checkpoints"),
            "SIGNING_DEMO_PKI_DIR": str(tmp_path / "demo-pki"),
        })
        portal.test_client_class = IsolatedClient
        client = portal.test_client()
        worker = None
        try:
            with portal.app_context():
                upgrade(directory=str(ROOT / "migrations"))
                area_services.load_official_areas()
                create_user("tram.y.te", PASSWORD, Role.HEALTH_STATION,
                            area_services.area_by_code(OWN), "Trạm y tế")
                db.session.commit()
                assert login(client, "tram.y.te").status_code == 303
                # The dry run in-process (the suite's mode), the commit through a real queue.
                uploaded = upload(client, xlsx(GOOD))
                assert uploaded.status_code == 303
                batch_id = int(uploaded.headers["Location"].rsplit("/", 1)[1])
                db.session.rollback()
                batch = db.session.get(ImportBatch, batch_id)
                assert batch is not None and batch.state == BatchState.CHECKED

                monkeypatch.setitem(queue.huey.storage_kwargs, "filename",
                                    str(tmp_path / "huey.sqlite3"))
                monkeypatch.setitem(portal.config, "HUEY_IMMEDIATE", False)
                worker = _worker(url, "kill-test", tmp_path)
                token = csrf_token(client, f"/imports/{batch_id}")
                assert client.post(f"/imports/{batch_id}/commit",
                                   data={"csrf_token": token}).status_code == 303
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
        finally:
            if worker is not None and worker.poll() is None:
                worker.kill()
                worker.wait(timeout=30)
            queue.huey.immediate = True
            with portal.app_context():
                db.session.remove()
                db.engine.dispose()
