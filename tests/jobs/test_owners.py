"""A job's owner record follows it to failed, with the reason, and its page starts the work
again (issue 15, item 3); the reaper also fails jobs lost from the queue (item 1)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.clock import utcnow
from portal.extensions import db
from portal.imports.models import BatchState, ImportBatch
from portal.jobs import services
from portal.jobs.models import Job, JobState
from tests.conftest import OWN, csrf_token
from tests.imports.helpers import GOOD, persons, upload, xlsx


def _batch_id(response) -> int:
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _actions(entity_type: str, entity_id: int) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
            .order_by(AuditEvent.id)
        )
    )


def _checked_batch(client, app, monkeypatch) -> ImportBatch:
    monkeypatch.setitem(app.config, "IMPORT_INLINE_BYTES", 0)  # through jobs
    batch = db.session.get(ImportBatch, _batch_id(upload(client, xlsx(GOOD))))
    assert batch is not None and batch.state == BatchState.CHECKED
    return batch


def _committing_with_dead_worker(batch: ImportBatch) -> Job:
    """What a worker killed mid-commit leaves: the batch committing, its job running with
    a heartbeat long gone."""
    job = Job(
        kind="records_import_commit",
        area_id=batch.commune_id,
        params={"batch": batch.id},
        state=JobState.RUNNING,
        started_at=utcnow() - timedelta(hours=2),
        heartbeat_at=utcnow() - timedelta(hours=1),
    )
    db.session.add(job)
    db.session.flush()
    batch.state = BatchState.COMMITTING
    batch.job_id = job.id
    db.session.commit()
    return job


def test_a_dead_commit_fails_its_batch_which_its_page_retries(client, login_as, app, monkeypatch):
    login_as(Role.HEALTH_STATION)
    batch = _checked_batch(client, app, monkeypatch)
    dead = _committing_with_dead_worker(batch)
    assert services.reap_stale(timedelta(minutes=30)) == 1
    db.session.commit()
    db.session.expire_all()
    assert dead.state == JobState.FAILED and "dừng" in dead.error
    assert batch.state == BatchState.FAILED
    assert _actions("job", dead.id)[-1] == "job.fail"
    assert _actions("import_batch", batch.id)[-1] == "import.fail"
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert dead.error in page and 'data-testid="retry"' in page

    token = csrf_token(client, f"/imports/{batch.id}")
    response = client.post(f"/jobs/{dead.id}/retry", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/imports/{batch.id}")
    db.session.expire_all()
    assert batch.state == BatchState.COMMITTED and batch.job_id != dead.id
    new = db.session.get(Job, batch.job_id)
    assert new.kind == "records_import_commit" and new.state == JobState.DONE
    assert len(persons()) == 4
    assert _actions("import_batch", batch.id)[-2:] == ["import.retry", "import.commit"]
    # Again (a double click, or an old page): said clearly, nothing done twice.
    again = client.post(f"/jobs/{dead.id}/retry", data={"csrf_token": token})
    assert again.status_code == 409
    assert "đã được chạy lại" in again.get_data(as_text=True)
    assert len(persons()) == 4


def test_a_failing_check_fails_its_batch_with_the_reason(client, login_as, app, monkeypatch):
    from portal.imports import services as import_services

    login_as(Role.HEALTH_STATION)
    monkeypatch.setitem(app.config, "IMPORT_INLINE_BYTES", 0)

    def crash(*_args, **_kw):
        raise RuntimeError("đĩa đầy")

    monkeypatch.setattr(import_services, "check_database", crash)
    batch = db.session.get(ImportBatch, _batch_id(upload(client, xlsx(GOOD))))
    job = db.session.get(Job, batch.job_id)
    assert batch.state == BatchState.FAILED and job.state == JobState.FAILED
    assert "đĩa đầy" in client.get(f"/imports/{batch.id}").get_data(as_text=True)
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "IMPORT_INLINE_BYTES", 0)
    token = csrf_token(client, f"/imports/{batch.id}")
    assert client.post(f"/jobs/{job.id}/retry", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert batch.state == BatchState.CHECKED and batch.valid_rows == 5


def test_retry_of_work_that_did_not_fail_is_refused_clearly(client, login_as, app, monkeypatch):
    login_as(Role.HEALTH_STATION)
    batch = _checked_batch(client, app, monkeypatch)
    token = csrf_token(client, f"/imports/{batch.id}")
    response = client.post(f"/jobs/{batch.job_id}/retry", data={"csrf_token": token})
    assert response.status_code == 409
    assert "không bị lỗi" in response.get_data(as_text=True)
    assert client.post(f"/jobs/{batch.job_id}/retry", data={}).status_code == 400  # no CSRF


def test_retry_is_the_domains_permission(client, login_as, app, monkeypatch, make_user):
    from tests.conftest import login

    login_as(Role.HEALTH_STATION)
    batch = _checked_batch(client, app, monkeypatch)
    dead = _committing_with_dead_worker(batch)
    services.reap_stale(timedelta(minutes=30))
    db.session.commit()
    # The commune's police sees the commune's jobs but does not import.
    police = make_user(Role.POLICE, OWN)
    other = app.test_client()
    login(other, police.username)
    token = csrf_token(other, f"/jobs/{dead.id}")
    assert 'data-testid="retry"' not in other.get(f"/jobs/{dead.id}").get_data(as_text=True)
    assert other.post(f"/jobs/{dead.id}/retry", data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert batch.state == BatchState.FAILED


def test_a_failed_matching_run_is_started_again_from_its_page(client, login_as):
    login_as(Role.HEALTH_STATION)
    token = csrf_token(client, "/records")
    job_id = int(
        client.post("/registry/match", data={"csrf_token": token})
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    job.state = JobState.FAILED  # as a failure leaves it
    db.session.commit()
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert 'data-testid="retry"' in page
    response = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token})
    assert response.status_code == 303
    db.session.expire_all()
    new = db.session.get(Job, job.result["retried_by"])
    assert new.kind == "match" and new.params == job.params and new.state == JobState.DONE
    assert "công việc mới" in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token}).status_code == 409


def _queued(kind: str, minutes_ago: int, **params) -> Job:
    job = Job(
        kind=kind,
        area_id=None,
        params=params,
        state=JobState.QUEUED,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
    )
    db.session.add(job)
    db.session.flush()
    return job


def test_jobs_lost_from_the_queue_are_failed_and_their_uploads_removed(tmp_path):
    lost_file = tmp_path / "extract-lost.xlsx"
    lost_file.write_bytes(b"personal data")
    waiting_file = tmp_path / "extract-waiting.xlsx"
    waiting_file.write_bytes(b"personal data")
    lost = _queued("register_import", 45, path=str(lost_file), filename="a.xlsx")
    waiting = _queued("register_import", 45, path=str(waiting_file), filename="b.xlsx")
    young = _queued("match", 5, communes=[], full=False)
    assert services.reap_stale(timedelta(minutes=30), waiting={waiting.id}) == 1
    db.session.commit()
    db.session.expire_all()
    assert lost.state == JobState.FAILED and "hàng đợi" in lost.error
    assert not lost_file.exists()
    assert waiting.state == young.state == JobState.QUEUED and waiting_file.exists()
    assert _actions("job", lost.id)[-1] == "job.fail"


def test_a_job_the_reaper_failed_is_never_run(monkeypatch):
    from portal.jobs.services import HANDLERS

    ran = []
    monkeypatch.setitem(HANDLERS, "test-late", lambda job, progress: ran.append(job.id) or {})
    job = _queued("test-late", 45)
    services.reap_stale(timedelta(minutes=30))
    db.session.commit()
    services.execute(job.id)  # its task arrives after all
    db.session.expire_all()
    assert ran == [] and job.state == JobState.FAILED


def test_the_periodic_reaper_spares_jobs_still_in_the_queue(app, monkeypatch):
    from portal.jobs import queue

    job = _queued("match", 45, communes=[], full=False)
    db.session.commit()
    monkeypatch.setattr(queue, "waiting_job_ids", lambda: {job.id})
    queue.reap_stale_jobs.call_local()
    db.session.expire_all()
    assert job.state == JobState.QUEUED
    monkeypatch.setattr(queue, "waiting_job_ids", set)
    queue.reap_stale_jobs.call_local()
    db.session.expire_all()
    assert job.state == JobState.FAILED


def test_a_job_given_up_while_it_ran_keeps_nothing(monkeypatch):
    """A worker too slow to report (not dead): the reaper fails the job and its owner; when
    the handler ends after all, its work is not kept and the job stays failed."""
    from portal.audit import services as audit
    from portal.jobs.services import HANDLERS

    def slow(job, progress):
        services.reap_stale(timedelta(0))  # meanwhile, in the worker's periodic task
        db.session.commit()
        audit.record("test.work", "job", job.id)  # the work done after that
        return {"ok": True}

    monkeypatch.setitem(HANDLERS, "test-slow", slow)
    job = services.create_job("test-slow", None, {})
    db.session.commit()
    services.execute(job.id)
    db.session.expire_all()
    assert job.state == JobState.FAILED and job.result == {}
    assert _actions("job", job.id) == ["job.create", "job.fail"]


def _failed_job(kind: str, user, **params) -> Job:
    job = Job(
        kind=kind,
        area_id=user.area_id,
        params=params,
        created_by_id=user.id,
        state=JobState.FAILED,
        error="hỏng giữa chừng",
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_failed_certificates_are_signed_again_with_the_pin(client, login_as):
    chair = login_as(Role.COMMITTEE)
    job = _failed_job("sign_certificates", chair, user_id=chair.id)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "hỏng giữa chừng" in page and 'name="pin"' in page
    assert 'action="/signing/certificates"' in page
    # No button that would start it without the PIN.
    token = csrf_token(client, f"/jobs/{job.id}")
    assert client.post(f"/jobs/{job.id}/retry", data={"csrf_token": token}).status_code == 409


def test_a_failed_extract_import_asks_for_the_file_again(client, login_as):
    police = login_as(Role.POLICE)
    job = _failed_job(
        "register_import", police, path="/nonexistent", filename="a.xlsx", mode="merge"
    )
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "tải lên lại" in page and 'href="/registry/extracts"' in page
    assert 'data-testid="retry"' not in page


def test_the_queue_says_which_jobs_wait_in_it(monkeypatch, tmp_path):
    from portal.jobs import queue
    from portal.signing.jobs import run_signing_job

    monkeypatch.setitem(queue.huey.storage_kwargs, "filename", str(tmp_path / "q.sqlite3"))
    queue.huey.immediate = False
    try:
        queue.run_job(5)
        run_signing_job(6, b"sealed")
        assert queue.waiting_job_ids() == {5, 6}
    finally:
        queue.huey.immediate = True
