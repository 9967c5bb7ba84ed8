"""Ordinary concurrency on a real server (issue 15, item 1): simultaneous saves of one
record (one 200, the others 409), saves of different records (all 200), simultaneous
logins, saves and logins while a job writes in the background — never a 500; and a lock
that cannot be had within the configured wait answers the Vietnamese "busy" page (503 with
Retry-After). On the suite's kind of database (SQLite, or PostgreSQL under DATABASE_URL)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from portal.auth.models import Role
from portal.auth.services import create_user
from portal.extensions import db
from portal.jobs import services as jobs
from portal.jobs.models import Job, JobState
from tests.conftest import OWN, PASSWORD
from tests.live import at_once, form_token, live_portal, logged_in, suite_kind

pytestmark = pytest.mark.committing

CLIENTS = 8
HX = {"HX-Request": "true"}


def _seed() -> None:
    from datetime import date

    from portal.areas import services as area_services
    from portal.records.models import BirthPrecision, Sex
    from portal.records.services import create_person

    commune = area_services.area_by_code(OWN)
    for number in range(CLIENTS):
        create_user(
            f"station.{number}", PASSWORD, Role.HEALTH_STATION, commune, f"Trạm y tế {number}"
        )
        create_person(
            {
                "full_name": f"Nguyễn Văn {number}",
                "sex": Sex.MALE,
                "birth_date": date(1985, 3, 14),
                "birth_precision": BirthPrecision.DAY,
                "id_number": None,
                "commune_id": commune.id,
            },
            reason="test fixture",
        )


def _person_ids(app) -> list[int]:
    from portal.records.models import Person

    with app.app_context():
        return list(db.session.scalars(sa.select(Person.id).order_by(Person.id)))


def _version(app, person_id: int) -> int:
    return _person(app, person_id).version


def _person(app, person_id: int):
    from portal.records.models import Person

    with app.app_context():
        person = db.session.get(Person, person_id)
        db.session.expunge(person)
        return person


def _save(
    base: str, client: requests.Session, token: str, person_id: int, version: int, phone: str
) -> requests.Response:
    """The phone field's inline editor posted (htmx): 200 saved, 409 saved by another."""
    return client.post(
        f"{base}/records/{person_id}/correct/phone",
        headers=HX,
        timeout=60,
        data={"csrf_token": token, "version": version, "phone": phone},
    )


def _saves(
    base: str,
    clients: list[requests.Session],
    tokens: list[str],
    ids: list[int],
    versions: list[int],
    round_: int,
) -> list[Callable[[], requests.Response]]:
    """Each client saves its own record's phone."""
    return [
        partial(_save, base, clients[n], tokens[n], ids[n], versions[n], f"0912345{round_}{n:02d}")
        for n in range(len(clients))
    ]


def _statuses(answers: list[Any]) -> list[Any]:
    return [getattr(answer, "status_code", answer) for answer in answers]


def test_simultaneous_saves_of_one_record_give_one_200_and_409s(tmp_path):
    with live_portal(tmp_path, _seed) as (app, base):
        person_id = _person_ids(app)[0]
        clients = [logged_in(base, f"station.{n}", PASSWORD) for n in range(CLIENTS)]
        tokens = [form_token(c, f"{base}/records/{person_id}") for c in clients]
        for round_ in range(2):
            version = _version(app, person_id)
            phones = [f"091234{round_}6{n:02d}" for n in range(CLIENTS)]
            answers = at_once(
                [
                    partial(_save, base, c, t, person_id, version, p)
                    for c, t, p in zip(clients, tokens, phones, strict=True)
                ]
            )
            statuses = _statuses(answers)
            assert sorted(statuses) == [200] + [409] * (CLIENTS - 1), statuses
            # The one saved is the winner's; the others wrote nothing.
            assert _person(app, person_id).phone == phones[statuses.index(200)]


def test_simultaneous_saves_of_different_records_all_succeed(tmp_path):
    with live_portal(tmp_path, _seed) as (app, base):
        ids = _person_ids(app)
        clients = [logged_in(base, f"station.{n}", PASSWORD) for n in range(CLIENTS)]
        tokens = [form_token(c, f"{base}/records/{ids[n]}") for n, c in enumerate(clients)]
        for round_ in range(3):
            versions = [_version(app, person_id) for person_id in ids]
            answers = at_once(_saves(base, clients, tokens, ids, versions, round_))
            assert _statuses(answers) == [200] * CLIENTS
        assert [_version(app, person_id) for person_id in ids] == [
            version + 1 for version in versions
        ]


def _login(base: str, username: str) -> int:
    client = requests.Session()
    page = client.get(f"{base}/login", timeout=60)
    from tests.live import csrf_token

    answer = client.post(
        f"{base}/login",
        allow_redirects=False,
        timeout=60,
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_token(page.text)},
    )
    return answer.status_code


def test_simultaneous_logins_all_succeed(tmp_path):
    with live_portal(tmp_path, _seed) as (_app, base):
        for _round in range(2):
            answers = at_once([partial(_login, base, f"station.{n}") for n in range(CLIENTS)])
            assert _statuses(answers) == [303] * CLIENTS


@pytest.fixture
def hash_probes(tmp_path, monkeypatch) -> list[tuple[bool, bool]]:
    """For each password hash checked: whether another connection could take SQLite's write
    lock at that moment, and whether the session had a transaction open."""
    from portal.auth import services

    probes: list[tuple[bool, bool]] = []
    checked = services.matching_form

    def probing(password_hash: str | None, password: str) -> str | None:
        free = True
        if suite_kind() == "sqlite":
            other = sqlite3.connect(str(tmp_path / "live.sqlite3"), timeout=0)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.rollback()
            except sqlite3.OperationalError:
                free = False
            finally:
                other.close()
        probes.append((free, db.session().in_transaction()))
        return checked(password_hash, password)

    monkeypatch.setattr(services, "matching_form", probing)
    return probes


def _failures(app, action: str) -> int:
    from portal.audit.models import AuditEvent

    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )


def test_a_login_checks_the_password_outside_the_writing_transaction(tmp_path, hash_probes):
    """Argon2's fraction of a second is spent with no transaction open: on SQLite no write
    lock is held meanwhile (another connection takes it at once), so a burst of logins does
    not queue on the hashes; a failure is still counted for the throttle."""
    with live_portal(tmp_path, _seed) as (app, base):
        assert _login(base, "station.0") == 303
        client = requests.Session()
        page = client.get(f"{base}/login", timeout=60)
        from tests.live import csrf_token

        wrong = client.post(
            f"{base}/login",
            timeout=60,
            data={"username": "station.1", "password": "sai", "csrf_token": csrf_token(page.text)},
        )
        assert wrong.status_code == 401
        failed = _failures(app, "auth.login_failed")
    assert hash_probes == [(True, False), (True, False)]
    assert failed == 1


def test_a_password_asked_again_is_checked_outside_the_writing_transaction(tmp_path, hash_probes):
    """The security page asks a logged-in user's password again (a POST, whose transaction
    takes SQLite's write lock when it begins): that hash too is checked with no transaction
    open, and a wrong one is still counted."""
    from tests.live import csrf_token

    with live_portal(tmp_path, _seed) as (app, base):
        client = logged_in(base, "station.0", PASSWORD)
        hash_probes.clear()
        answers = []
        for password in ("sai", PASSWORD):
            page = client.get(f"{base}/account/security", timeout=60)
            answers.append(
                client.post(
                    f"{base}/account/security/confirm",
                    timeout=60,
                    allow_redirects=False,
                    data={"password": password, "csrf_token": csrf_token(page.text)},
                ).status_code
            )
        failed = _failures(app, "auth.reauth_failed")
    assert answers == [401, 303]
    assert hash_probes == [(True, False), (True, False)]
    assert failed == 1


def test_exports_beside_saves_all_succeed(tmp_path):
    """An export is a GET that writes (its audit event): it queues behind the writers like
    a save instead of failing when one commits between its read and its write."""
    with live_portal(tmp_path, _seed) as (app, base):
        ids = _person_ids(app)
        clients = [logged_in(base, f"station.{n}", PASSWORD) for n in range(CLIENTS)]
        tokens = [form_token(c, f"{base}/records/{ids[n]}") for n, c in enumerate(clients)]
        for round_ in range(4):
            versions = [_version(app, person_id) for person_id in ids]
            answers = at_once(
                _saves(base, clients, tokens, ids, versions, round_)
                + [partial(c.get, f"{base}/records/export.csv", timeout=60) for c in clients]
            )
            assert _statuses(answers) == [200] * (2 * CLIENTS)


# A job of the kind the worker runs: batches that read, then write and commit with their
# progress (as the imports and the matching do), outside any request.
SLOW_BATCHES = 40


def _slow_handler(job: Job, progress) -> dict[str, Any]:
    from portal.records.models import Person

    for batch in range(SLOW_BATCHES):
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Person))
        time.sleep(0.01)
        db.session.execute(
            sa.update(Job).where(Job.id == job.id).values(params={"seen": count, "batch": batch})
        )
        progress(batch + 1, SLOW_BATCHES)
    return {"batches": SLOW_BATCHES}


@contextmanager
def _job_in_background(app):
    """A test job started as the worker starts one (no request), in a thread of its own."""
    jobs.HANDLERS["test_slow"] = _slow_handler
    try:
        with app.app_context():
            job = jobs.create_job("test_slow", None, {})
            db.session.commit()
            job_id = job.id

        def work() -> None:
            with app.app_context():
                jobs.execute(job_id)

        thread = threading.Thread(target=work, name="worker")
        thread.start()
        yield job_id
        thread.join(120)
        assert not thread.is_alive()
    finally:
        jobs.HANDLERS.pop("test_slow", None)


def test_saves_and_logins_while_a_job_writes(tmp_path):
    with live_portal(tmp_path, _seed) as (app, base):
        ids = _person_ids(app)
        clients = [logged_in(base, f"station.{n}", PASSWORD) for n in range(CLIENTS)]
        tokens = [form_token(c, f"{base}/records/{ids[n]}") for n, c in enumerate(clients)]
        with _job_in_background(app) as job_id:
            for round_ in range(3):
                versions = [_version(app, person_id) for person_id in ids]
                answers = at_once(
                    _saves(base, clients, tokens, ids, versions, round_)
                    + [partial(_login, base, f"station.{n}") for n in range(CLIENTS // 2)]
                )
                assert _statuses(answers) == [200] * CLIENTS + [303] * (CLIENTS // 2)
        with app.app_context():
            job = db.session.get(Job, job_id)
            assert (job.state, job.error) == (JobState.DONE, None)


# --- a lock that cannot be had -------------------------------------------------------------


@contextmanager
def _lock_held(app, person_id: int):
    """Another connection holds what a save needs: SQLite's write lock; on PostgreSQL the
    person's row."""
    if suite_kind() == "sqlite":
        holder = sqlite3.connect(
            app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///") :], isolation_level=None
        )
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(
                "SELECT id FROM person WHERE id = %s FOR UPDATE", (person_id,)
            )
            yield
            connection.rollback()
    finally:
        engine.dispose()


BUSY_VI = "Hệ thống đang bận"


def test_a_lock_that_cannot_be_had_answers_busy_with_retry_after(tmp_path):
    with live_portal(tmp_path, _seed, DATABASE_LOCK_TIMEOUT=0.3) as (app, base):
        person_id = _person_ids(app)[0]
        client = logged_in(base, "station.0", PASSWORD)
        token = form_token(client, f"{base}/records/{person_id}")
        version = _version(app, person_id)
        with _lock_held(app, person_id):
            started = time.monotonic()
            page = client.post(
                f"{base}/records/{person_id}/correct/phone",
                timeout=60,
                data={"csrf_token": token, "version": version, "phone": "0912345678"},
                allow_redirects=False,
            )
            fragment = _save(base, client, token, person_id, version, "0912345678")
            elapsed = time.monotonic() - started
            # Reading does not queue behind the lock.
            assert client.get(f"{base}/healthz", timeout=10).status_code == 200
            assert client.get(f"{base}/records/{person_id}", timeout=10).status_code == 200
        assert page.status_code == 503, page.text[:500]
        assert page.headers["Retry-After"].isdigit()
        assert BUSY_VI in page.text and "<html" in page.text
        assert fragment.status_code == 503 and fragment.headers["Retry-After"].isdigit()
        assert fragment.headers["HX-Retarget"] == "#messages" and "<html" not in fragment.text
        assert BUSY_VI in fragment.text
        assert elapsed < 10
        # Once the lock is let go the same save goes through.
        assert _save(base, client, token, person_id, version, "0912345678").status_code == 200
