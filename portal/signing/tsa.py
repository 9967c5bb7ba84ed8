"""A small RFC 3161 time-stamping server over HTTP, for the demo and the tests: it answers
``application/timestamp-query`` POSTs with tokens signed by the demo TSA certificate.

Production uses a licensed TSA (``SIGNING_TSA_URL``); this one is only for local use.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from asn1crypto import tsp

MAX_QUERY = 64 * 1024


def make_server(timestamper: Any, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Content-Type") != "application/timestamp-query" or not (
                0 < length <= MAX_QUERY
            ):
                self.send_error(400)
                return
            try:
                request = tsp.TimeStampReq.load(self.rfile.read(length))
                body = timestamper.request_tsa_response(request).dump()
            except Exception:  # a malformed query: refuse it, keep serving
                self.send_error(400)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_thread(timestamper: Any) -> tuple[ThreadingHTTPServer, str]:
    server = make_server(timestamper)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    return server, f"http://{host!s}:{port}/"
