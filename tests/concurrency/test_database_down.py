"""A database that does not answer, or is stopped (issue 15, item 4): /healthz says so
within 2 s and pages answer the Vietnamese "busy" page (503 with Retry-After) within the
connect timeout, instead of hanging until gunicorn kills the worker."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from portal import create_app
from tests.live import TEST_CONFIG

pytestmark = pytest.mark.committing

BUSY_VI = "Hệ thống đang bận"


@contextmanager
def _silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts connections and never replies (a frozen
    postmaster): its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        for connection in accepted:
            connection.close()
        listener.close()


def _closed_port() -> int:
    """A loopback port nobody listens on (a stopped database)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _app(tmp_path, port: int):
    return create_app(
        {
            **TEST_CONFIG,
            "SECRET_KEY": "down",
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://portal_app@127.0.0.1:{port}/portal_test",
            "MIGRATIONS_DATABASE_URL": None,
            "DATABASE_CONNECT_TIMEOUT": 2,
            "SIGNING_DEMO_PKI_DIR": str(tmp_path / "pki"),
            "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        }
    )


def _logged_in_client(app):
    """A client whose session names a login: the page must read it from the database."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "a-login-token"
        session["_fresh"] = True
    return client


def test_healthz_answers_503_within_2_seconds_when_the_database_does_not_answer(tmp_path):
    with _silent_server() as port:
        app = _app(tmp_path, port)
        for _attempt in range(2):  # the second while the first check still waits
            started = time.monotonic()
            answer = app.test_client().get("/healthz")
            assert time.monotonic() - started < 2
            assert answer.status_code == 503
            assert answer.get_json() == {"status": "error", "database": "unreachable"}
            assert answer.headers["Retry-After"].isdigit()


def test_a_page_answers_busy_within_the_connect_timeout_when_the_database_does_not_answer(tmp_path):
    with _silent_server() as port:
        app = _app(tmp_path, port)
        started = time.monotonic()
        answer = _logged_in_client(app).get("/records")
        assert time.monotonic() - started < 5
        assert answer.status_code == 503 and answer.headers["Retry-After"].isdigit()
        body = answer.get_data(as_text=True)
        assert BUSY_VI in body and "<html" in body
        api = app.test_client().get(
            "/api/v1/feedback/ABC", headers={"Authorization": "Bearer " + "x" * 40}
        )
        assert api.status_code == 503 and api.get_json()["status"] == 503


def test_a_stopped_database_answers_busy_and_healthz_503(tmp_path):
    app = _app(tmp_path, _closed_port())
    answer = _logged_in_client(app).get("/records")
    assert answer.status_code == 503 and BUSY_VI in answer.get_data(as_text=True)
    assert app.test_client().get("/healthz").status_code == 503
