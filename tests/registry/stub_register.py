"""A stand-in for the population database service, speaking the contract of
``portal.registry.remote`` on 127.0.0.1 (a free port, a daemon thread).

It answers from ``records`` (id number -> wire record), remembers every request, and can
misbehave on demand: ``hangup_times`` closes the connection without an answer and
``fail_times`` answers with ``fail_status`` before recovering,
``status`` answers every request with that status, ``body`` replaces the answer with raw
bytes, ``respond`` computes the payload, ``delay`` holds the answer back, ``token``
demands that bearer token.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    id_numbers: list[str]
    headers: dict[str, str]


@dataclass
class StubRegister:
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    hangup_times: int = 0
    fail_times: int = 0
    fail_status: int = 503
    status: int | None = None
    body: bytes | None = None
    respond: Callable[[list[str]], Any] | None = None
    delay: float = 0.0
    token: str | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Data

    def add(
        self,
        id_number: str,
        full_name: str,
        sex: str,
        birth_date: str,
        birth_precision: str | None = None,
    ) -> dict[str, Any]:
        record = {
            "id_number": id_number,
            "full_name": full_name,
            "sex": sex,
            "birth_date": birth_date,
        }
        if birth_precision is not None:
            record["birth_precision"] = birth_precision
        self.records[id_number] = record
        return record

    @property
    def batch_sizes(self) -> list[int]:
        return [len(seen.id_numbers) for seen in self.requests]

    # Server

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1/lookup"

    def start(self) -> StubRegister:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let held-back answers go, to clients long gone
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # One request

    def answer(self, numbers: list[str], headers: dict[str, str]) -> tuple[int, bytes] | None:
        with self._lock:
            self.requests.append(Seen(numbers, headers))
            if self.hangup_times > 0:
                self.hangup_times -= 1
                return None
            failing = self.fail_times > 0
            if failing:
                self.fail_times -= 1
        if self.delay:
            self._release.wait(self.delay)
        if failing:
            return self.fail_status, b'{"error": "temporarily unavailable"}'
        if self.status is not None:
            return self.status, b'{"error": "stub status"}'
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return 401, b'{"error": "bad token"}'
        if self.body is not None:
            return 200, self.body
        if self.respond is not None:
            payload = self.respond(numbers)
        else:
            payload = {"records": [self.records[n] for n in numbers if n in self.records]}
        return 200, json.dumps(payload, ensure_ascii=False).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubRegister

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left: nothing to report


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            numbers = json.loads(self.rfile.read(length))["id_numbers"]
        except (ValueError, KeyError, TypeError):
            self._send(400, b'{"error": "expected {\\"id_numbers\\": [...]}"}')
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = self.server.stub.answer(numbers, headers)
        if answer is None:
            self.close_connection = True  # hang up: the client reads no status line
            return
        self._send(*answer)

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        if 300 <= status < 400:
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
