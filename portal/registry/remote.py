"""The remote backend: the National Population Database reached over HTTP.

Selected by ``get_adapter()`` when the configuration sets ``REGISTER_URL``. The wire
contract below is the portal's own; a production service, or a gateway in front of the
real register, implements it.

Request
    ``POST {REGISTER_URL}`` with ``Content-Type: application/json`` and the body
    ``{"id_numbers": ["001085012345", ...]}``: at most ``REGISTER_BATCH_SIZE`` numbers
    (default 500), each distinct. When ``REGISTER_TOKEN`` is set the request carries
    ``Authorization: Bearer <token>``.

Response
    ``200`` with a JSON body::

        {"records": [
            {"id_number": "001085012345",
             "full_name": "Nguyễn Văn An",
             "sex": "male",                  # "male" | "female"
             "birth_date": "1985-03-14",     # "YYYY-MM-DD", "YYYY-MM" or "YYYY"
             "birth_precision": "day"}       # optional: "day" | "month" | "year"
        ]}

    Numbers the register does not know are simply absent. Without ``birth_precision``
    the precision is the shape of ``birth_date``; with it, ``birth_date`` must be at least
    that precise and is cut down to it (a year-only birth is stored as 1 January, a
    month-only one as the 1st, as everywhere in the portal). A record for a number that
    was not asked for, a repeated number, or a missing or empty field makes the whole
    batch invalid; so does a name, sex or birth date that the field's rule refuses: the
    service is read by the rules every entry point calls (``records.rules``), which also
    take what the contract does not promise (Nam/Nữ, dd/mm/yyyy) and give the message.

Errors
    Connection failures, timeouts (``REGISTER_TIMEOUT`` seconds per connect or read,
    default 10) and ``5xx`` answers are retried twice per batch with a short backoff;
    ``3xx`` (redirects are not followed, so the token never travels elsewhere) and
    ``4xx`` are not. Whatever still fails, and every invalid response, raises
    :class:`RegisterUnavailable` with a Vietnamese message for the matching job to show.
    Nothing is written before every batch has arrived and passed validation.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from portal.audit import services as audit
from portal.core.dates import DAY, MONTH, YEAR
from portal.core.text import fold, norm
from portal.extensions import db
from portal.records import rules
from portal.registry.adapter import (
    LOOKUP_CHUNK,
    RegisterRecord,
    RegisterUnavailable,
    latest_extract_id,
)
from portal.registry.models import ExtractMode, RegisterEntry, RegisterExtract

DEFAULT_BATCH_SIZE = 500
DEFAULT_TIMEOUT = 10.0
RETRIES = 2  # after the first attempt
BACKOFF = 0.5  # seconds before the first retry, doubled before the next
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
MAX_ID_LENGTH = 20  # register_entry.id_number

REGISTER = "Cơ sở dữ liệu quốc gia về dân cư"
PRECISIONS = (DAY, MONTH, YEAR)
_RANK = {YEAR: 0, MONTH: 1, DAY: 2}
T = TypeVar("T")
_FIELDS = ("full_name", "sex", "birth_date", "birth_precision")


class _Retryable(Exception):
    """One attempt failed in a way worth another try."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx status


def _config_number(key: str, default: float) -> float:
    value = current_app.config.get(key)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RegisterUnavailable(f"Cấu hình {key} không hợp lệ: {value!r}") from None


def _host(url: str) -> str:
    """The service's host (and port) for the extract's source, without any credentials."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


class RemoteRegister:
    """Fetches records from the service at ``url``; see the module docstring."""

    name = "remote"
    needs_numbers = True

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float | None = None,
        batch_size: int | None = None,
        backoff: float = BACKOFF,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise RegisterUnavailable(f"Cấu hình REGISTER_URL không hợp lệ: {url[:100]!r}")
        self.url = url
        if token is None:
            token = current_app.config.get("REGISTER_TOKEN")
        self.token = str(token) if token not in (None, "") else None
        self.timeout = (
            timeout if timeout is not None else _config_number("REGISTER_TIMEOUT", DEFAULT_TIMEOUT)
        )
        if self.timeout <= 0:
            raise RegisterUnavailable(f"Cấu hình REGISTER_TIMEOUT không hợp lệ: {self.timeout!r}")
        size = (
            batch_size
            if batch_size is not None
            else _config_number("REGISTER_BATCH_SIZE", DEFAULT_BATCH_SIZE)
        )
        if int(size) < 1:
            raise RegisterUnavailable(f"Cấu hình REGISTER_BATCH_SIZE không hợp lệ: {size!r}")
        self.batch_size = int(size)
        self.backoff = backoff
        self._sleep = sleep
        self._opener = urllib.request.build_opener(_NoRedirect)

    # The adapter protocol

    def lookup(self, id_numbers: Sequence[str]) -> dict[str, RegisterRecord]:
        """The register's records for these numbers; a failure raises RegisterUnavailable."""
        return self._fetch(id_numbers)[0]

    def prepare(self, id_numbers: Sequence[str]) -> int | None:
        """Fetch the numbers, then keep their records in ``register_entry`` under a new
        extract (mode merge: new rows inserted, changed rows updated, the rest untouched).

        Flushes, never commits. With no numbers nothing is asked and the latest extract
        stands. A failure raises RegisterUnavailable before anything is written.
        """
        records, requested, batches = self._fetch(id_numbers)
        if not requested:
            return latest_extract_id()

        existing = self._existing(list(records))
        fresh: list[dict[str, Any]] = []
        inserted = updated = 0
        for number, record in records.items():
            row = _row(record)
            before = existing.get(number)
            if before is None:
                inserted += 1
            elif any(before[f] != row[f] for f in _FIELDS):
                updated += 1
            else:
                continue
            fresh.append(row)

        extract = RegisterExtract(
            source=f"remote {_host(self.url)}", mode=ExtractMode.MERGE, row_count=len(records)
        )
        db.session.add(extract)
        db.session.flush()
        if fresh:
            db.session.execute(self._upsert(), [row | {"extract_id": extract.id} for row in fresh])
        # The service is authoritative for what it was asked: a number it no longer
        # knows must not keep matching an old copy.
        gone = [n for n in requested if n not in records]
        removed = 0
        for start in range(0, len(gone), LOOKUP_CHUNK):
            result = db.session.execute(
                sa.delete(RegisterEntry).where(
                    RegisterEntry.id_number.in_(gone[start : start + LOOKUP_CHUNK])
                )
            )
            removed += getattr(result, "rowcount", 0) or 0
        audit.record(
            "register.fetch",
            "register_extract",
            extract.id,
            {
                "source": [None, extract.source],
                "requested": [None, len(requested)],
                "batches": [None, batches],
                "rows": [None, len(records)],
                "inserted": [None, inserted],
                "updated": [None, updated],
                "unchanged": [None, len(records) - inserted - updated],
                "removed": [None, removed],
            },
        )
        db.session.flush()
        return extract.id

    # Fetching

    def _fetch(self, id_numbers: Sequence[str]) -> tuple[dict[str, RegisterRecord], list[str], int]:
        numbers = [n for n in dict.fromkeys(id_numbers) if n]
        found: dict[str, RegisterRecord] = {}
        batches = 0
        for start in range(0, len(numbers), self.batch_size):
            batch = numbers[start : start + self.batch_size]
            found.update(_parse(self._post(batch), batch))
            batches += 1
        return found, numbers, batches

    def _post(self, batch: list[str]) -> Any:
        body = json.dumps({"id_numbers": batch}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        for attempt in range(RETRIES + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                return self._attempt(request)
            except _Retryable as exc:
                if attempt == RETRIES:
                    raise RegisterUnavailable(
                        f"Không kết nối được {REGISTER}: {exc} (đã thử {RETRIES + 1} lần)"
                    ) from exc
                self._sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, request: urllib.request.Request) -> Any:
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            with exc:
                detail = _detail(exc)
            if exc.code >= 500:
                raise _Retryable(f"máy chủ báo lỗi HTTP {exc.code}{detail}") from exc
            if exc.code in (401, 403):
                raise RegisterUnavailable(
                    f"{REGISTER} từ chối truy cập (HTTP {exc.code}): kiểm tra REGISTER_TOKEN"
                    f"{detail}",
                    exc.code,
                ) from exc
            raise RegisterUnavailable(
                f"{REGISTER} từ chối yêu cầu (HTTP {exc.code}){detail}", exc.code
            ) from exc
        except urllib.error.URLError as exc:  # no answer: refused, DNS, TLS, timeout
            raise _Retryable(self._reason(exc.reason)) from exc
        except (OSError, http.client.HTTPException) as exc:  # reset, truncated, too slow
            raise _Retryable(self._reason(exc)) from exc
        if len(raw) > MAX_RESPONSE_BYTES:
            raise _invalid(f"phản hồi lớn hơn {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise _invalid(f"phản hồi không phải JSON ({exc})") from exc

    def _reason(self, error: object) -> str:
        if isinstance(error, TimeoutError):
            return f"quá thời gian chờ {self.timeout:g} giây"
        if isinstance(error, ConnectionRefusedError):
            return f"máy chủ {_host(self.url)} không nhận kết nối"
        if isinstance(error, socket.gaierror):
            return f"không tìm thấy máy chủ {_host(self.url)}"
        if isinstance(error, ssl.SSLError):
            return f"lỗi TLS ({error})"
        if isinstance(error, ConnectionError | http.client.HTTPException):
            return f"kết nối bị ngắt ({type(error).__name__})"
        return str(error) or type(error).__name__

    # Writing

    def _existing(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        table = RegisterEntry.__table__
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(numbers), LOOKUP_CHUNK):
            rows = db.session.execute(
                sa.select(table.c.id_number, *(table.c[f] for f in _FIELDS)).where(
                    table.c.id_number.in_(numbers[start : start + LOOKUP_CHUNK])
                )
            ).mappings()
            for row in rows:
                found[row["id_number"]] = {
                    "full_name": row["full_name"],
                    "sex": getattr(row["sex"], "value", row["sex"]),
                    "birth_date": row["birth_date"],
                    "birth_precision": getattr(
                        row["birth_precision"], "value", row["birth_precision"]
                    ),
                }
        return found

    def _upsert(self) -> sa.Insert:
        """INSERT … ON CONFLICT (id_number) DO UPDATE, in the session's dialect."""
        table = cast(sa.Table, RegisterEntry.__table__)
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            pg = postgresql.insert(table)
            return pg.on_conflict_do_update(
                index_elements=[table.c.id_number],
                set_={c: pg.excluded[c] for c in _UPDATED},
            )
        if dialect == "sqlite":
            lite = sqlite.insert(table)
            return lite.on_conflict_do_update(
                index_elements=[table.c.id_number],
                set_={c: lite.excluded[c] for c in _UPDATED},
            )
        raise RegisterUnavailable(f"Cơ sở dữ liệu {dialect} chưa được hỗ trợ")


_UPDATED = (
    "full_name",
    "name_norm",
    "name_folded",
    "sex",
    "birth_date",
    "birth_precision",
    "extract_id",
)


def _row(record: RegisterRecord) -> dict[str, Any]:
    return {
        "id_number": record.id_number,
        "full_name": record.full_name,
        "name_norm": norm(record.full_name),
        "name_folded": fold(record.full_name),
        "sex": record.sex,
        "birth_date": record.birth_date,
        "birth_precision": record.birth_precision,
    }


# Validation


def _invalid(problem: str) -> RegisterUnavailable:
    return RegisterUnavailable(f"{REGISTER} trả lời không hợp lệ: {problem}")


def _detail(exc: urllib.error.HTTPError) -> str:
    """A short excerpt of an error body, when the service sent a readable one."""
    try:
        text = exc.read(300).decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    text = " ".join(text.split())[:200]
    return f" — {text}" if text else ""


def _parse(payload: Any, batch: list[str]) -> dict[str, RegisterRecord]:
    """Every record of one response, or RegisterUnavailable naming the first problem."""
    if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
        raise _invalid('thiếu danh sách "records"')
    asked = set(batch)
    records: dict[str, RegisterRecord] = {}
    for index, item in enumerate(payload["records"]):
        where = f"bản ghi thứ {index + 1}"
        if not isinstance(item, dict):
            raise _invalid(f"{where} không phải một đối tượng JSON")
        number = item.get("id_number")
        if not isinstance(number, str) or not number:
            raise _invalid(f'{where} thiếu "id_number"')
        where = f"{where} (số {number[:MAX_ID_LENGTH]})"
        if number not in asked:
            raise _invalid(f"{where} không nằm trong các số đã hỏi")
        if number in records:
            raise _invalid(f"{where} bị lặp lại")
        name = item.get("full_name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid(f'{where} thiếu "full_name"')
        name = _field(where, "full_name", rules.full_name(name))
        sex = item.get("sex")
        if not isinstance(sex, str):
            raise _invalid(f'{where} có "sex" không hợp lệ: {sex!r}')
        sex = _field(where, "sex", rules.sex(sex))
        born, precision = _birth(item, where)
        records[number] = RegisterRecord(number, name, sex, born, precision)
    return records


def _field(where: str, name: str, verdict: T | rules.Refusal) -> T:
    """The value a field's rule read, or the batch refused with the rule's own message."""
    if rules.refused(verdict):
        raise _invalid(f'{where}, "{name}": {verdict}')
    return verdict


def _birth(item: dict[str, Any], where: str) -> tuple[date, str]:
    """The birth date as the rule reads it (any shape the portal reads, the contract's
    among them), then cut down to ``birth_precision`` when the service sends one."""
    value = item.get("birth_date")
    if not isinstance(value, str) or not value:
        raise _invalid(f'{where} thiếu "birth_date"')
    born, shape = _field(where, "birth_date", rules.birth_date(value))
    precision = item.get("birth_precision")
    if precision is None:
        precision = shape
    elif precision not in PRECISIONS:
        raise _invalid(f'{where} có "birth_precision" không hợp lệ: {precision!r}')
    elif _RANK[precision] > _RANK[shape]:
        raise _invalid(
            f'{where} có "birth_date" {value!r} kém chính xác hơn "birth_precision" {precision!r}'
        )
    if precision == YEAR:
        born = born.replace(month=1, day=1)
    elif precision == MONTH:
        born = born.replace(day=1)
    return born, precision
