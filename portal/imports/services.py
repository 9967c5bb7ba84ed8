"""The Excel import: upload, dry run, commit, error report, template.

Each function flushes and never commits; the route, the CLI command or the job commits
once. The dry run keeps its file checks with the batch (``portal.imports.snapshot``); the
commit takes them back instead of reading the file again, checks the rows again against
the database as it is then (someone may have imported the same persons meanwhile) and
writes every valid row in one transaction, or nothing: persons by the driver's bulk path
(COPY on PostgreSQL, executemany in chunks on SQLite), their ids read back by the batch's
id in one query, then doses the same way, then one audit event for the batch.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from portal.areas.models import Area
from portal.audit import services as audit
from portal.core import export
from portal.core.clock import utcnow
from portal.core.spreadsheets import FileRejected, collector_paused
from portal.core.sql import locked, serialised
from portal.core.text import norm, sort_key
from portal.extensions import db
from portal.imports import snapshot
from portal.imports.models import BatchState, ImportBatch
from portal.imports.parser import (
    COLUMNS,
    EXAMPLE_ID,
    EXAMPLE_NAME,
    HEADERS,
    KEYS,
    REASON_HEADER,
    Table,
    read_table,
)
from portal.imports.validation import (
    Checked,
    DoseValues,
    PersonValues,
    Row,
    check_database,
    check_file,
)
from portal.records import vaccines
from portal.records.models import Dose, Person, PersonStatus
from portal.records.services import id_kind_for
from portal.records.tallies import Inserted, inserts_counted

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
INSERT_CHUNK = 2_000
INSERT_CACHE_KIB = 64 * 1024  # SQLite's page cache during the inserts, at most
SHOWN_ISSUES = 1_000  # rows with problems listed on the page; the error report has them all

Progress = Callable[[int, int], None]


class ImportRefused(Exception):
    """The batch is not in a state that allows this (committed already, still checking)."""


def max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES") or DEFAULT_MAX_BYTES)


def safe_filename(filename: str | None) -> str:
    return os.path.basename((filename or "").replace("\\", "/")).strip()[:200] or "?"


def create_batch(data: bytes, filename: str | None, commune: Area, actor=None) -> ImportBatch:
    """Keep the uploaded file as a new batch, waiting for its dry run."""
    if len(data) > max_bytes():
        raise FileRejected(too_large_message())
    batch = ImportBatch(
        commune_id=commune.id,
        created_by_id=getattr(actor, "id", None),
        filename=safe_filename(filename),
        file_sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        content=data,
        state=BatchState.CHECKING,
        report={},
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "import.upload",
        "import_batch",
        batch.id,
        {
            "filename": [None, batch.filename],
            "file_sha256": [None, batch.file_sha256],
            "file_size": [None, batch.file_size],
            "commune": [None, commune.code],
        },
        actor=actor,
    )
    return batch


def too_large_message() -> str:
    return _(
        "The file is larger than %(mb)d MB. Split it into several files and import them "
        "one after the other.",
        mb=max_bytes() // (1024 * 1024),
    )


def _read(batch: ImportBatch) -> Table:
    return read_table(batch.content, batch.filename)


def check_batch(batch: ImportBatch, progress: Progress | None = None) -> Checked | None:
    """The dry run: every row checked, the outcome kept with the batch; nothing else is
    written. Returns the rows checked, or None when the file itself is refused."""
    report = progress or (lambda _done, _total: None)
    report(0, 3)
    batch.checked_rows = None
    try:
        with collector_paused():
            table = _read(batch)
            report(1, 3)
            checked = check_file(table, batch.commune)
            del table
            if checked.rows:
                batch.checked_rows = snapshot.pack(checked, snapshot.made_from(batch))
            check_database(checked, batch.commune)
    except FileRejected as rejected:
        batch.state = BatchState.REJECTED
        batch.report = {"file_error": str(rejected.message), "file_error_row": rejected.row}
        db.session.flush()
        return None
    report(2, 3)
    counts = checked.counts()
    for name, value in counts.items():
        setattr(batch, name, value)
    if not checked.rows:
        batch.state = BatchState.REJECTED
        batch.report = {"file_error": _("The file has a header row but no data rows.")}
    else:
        batch.state = BatchState.CHECKED
        batch.report = _report(checked)
    db.session.flush()
    return checked


def _report(checked: Checked) -> dict[str, Any]:
    issues = [
        [r.number, r.errors or [], r.warnings or []] for r in checked.rows if r.errors or r.warnings
    ]
    errors_first = sorted(issues, key=lambda i: (not i[1], i[0]))[:SHOWN_ISSUES]
    return {
        "issues": sorted(errors_first, key=lambda i: i[0]),
        "rejected": [[r.number, "; ".join(r.errors)] for r in checked.rows if r.errors],
    }


def commit_batch(
    batch: ImportBatch, actor=None, progress: Progress | None = None
) -> dict[str, int]:
    """Write every valid row of a checked batch, or nothing (the caller's transaction).

    The rows are checked again against the database first (someone may have recorded the
    same persons or doses since the dry run): only rows valid now are written. The file's
    own checks are the dry run's, kept with the batch, unless the file, the day or the
    language changed since — then the file is read and checked again. Rows matched to a
    person already recorded add only the doses that person lacks, so importing the same
    file twice adds nothing the second time.
    """
    locked(batch)  # a second commit of the batch waits here, then finds it committed
    if batch.state not in (BatchState.CHECKED, BatchState.COMMITTING):
        raise ImportRefused(batch.state)
    report = progress or (lambda _done, _total: None)
    report(0, 2)
    with collector_paused():
        checked = snapshot.unpack(batch.checked_rows, snapshot.made_from(batch))
        if checked is None:
            checked = check_file(_read(batch), batch.commune)
        report(1, 2)
        # No progress report from here on: a report commits, which would release the lock,
        # and the writes are all or none.
        # Two imports into one commune at once could both create the same person: the
        # second one checks the database once the first one has committed.
        serialised("imports.commit", batch.commune_id)
        connection = db.session.connection()
        check_database(checked, batch.commune)
        valid = checked.valid
        with inserts_counted() as inserted:
            created = _insert_persons(connection, valid, batch, inserted)
            doses, doses_matched = _insert_doses(connection, valid, created, batch, inserted)
    counts = checked.counts()
    for name, value in counts.items():
        setattr(batch, name, value)
    matched = len({r.existing_id for r in checked.valid if r.existing_id})
    batch.persons_created = len(created)
    batch.persons_matched = matched
    batch.doses_created = doses
    batch.doses_matched = doses_matched
    batch.state = BatchState.COMMITTED
    batch.committed_at = utcnow()
    batch.committed_by_id = getattr(actor, "id", None)
    batch.report = _report(checked)
    batch.checked_rows = None
    summary = {
        "rows": counts["rows"],
        "valid_rows": counts["valid_rows"],
        "error_rows": counts["error_rows"],
        "persons_created": len(created),
        "persons_matched": matched,
        "doses_created": doses,
        "doses_matched": doses_matched,
    }
    audit.record(
        "import.commit",
        "import_batch",
        batch.id,
        {
            "filename": [None, batch.filename],
            "file_sha256": [None, batch.file_sha256],
            "commune": [None, batch.commune.code],
            **{name: [None, value] for name, value in summary.items()},
        },
        actor=actor,
    )
    db.session.flush()
    # Persons and doses loaded in this session before the commit may be stale now.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Person | Dose):
            db.session.expire(obj)
    return summary


PERSON_COLUMNS = (
    "full_name",
    "name_norm",
    "name_folded",
    "name_sort",
    "sex",
    "birth_date",
    "birth_precision",
    "id_number",
    "id_kind",
    "nationality",
    "phone",
    "commune_id",
    "province_id",
    "address",
    "status",
    "version",
    "created_at",
    "updated_at",
    "import_batch_id",
)
DOSE_COLUMNS = (
    "person_id",
    "dose_number",
    "vaccine",
    "lot",
    "vaccinated_on",
    "site_id",
    "import_batch_id",
)


def _executemany(
    connection: sa.Connection,
    table: str,
    columns: tuple[str, ...],
    values: Iterable[tuple[Any, ...]],
    dates: tuple[int, ...],
) -> None:
    """The rows in bulk by the driver: COPY on PostgreSQL, executemany in chunks on SQLite.
    The values are checked already, and SQLAlchemy's per-row parameter processing would
    double the time. ``values`` may be a generator: PostgreSQL then inserts the first rows
    while the next ones are worked out. SQLite gets dates as the ISO text SQLAlchemy
    stores."""
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        # Binary: psycopg formats no text and the server parses none (on the persons of the
        # benchmark, client CPU 0.45 -> 0.07 s, and the COPY shorter). It needs each
        # column's exact type, read from the catalogue.
        types: dict[str, int] = dict(
            connection.execute(
                sa.text(
                    "SELECT attname, atttypid FROM pg_attribute "
                    "WHERE attrelid = CAST(:t AS regclass) AND attnum > 0 AND NOT attisdropped"
                ),
                {"t": table},
            ).all()
        )
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types([int(types[column]) for column in columns])
            for row in values:
                copy.write_row(row)
        return
    statement = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))})"
    cursor = driver.cursor()
    cache_size = cursor.execute("PRAGMA cache_size").fetchone()[0]
    try:
        # SQLite builds the list of a CHECK (x IN (...)) again for every row of an
        # executemany; the enum values here come from the checks above (as in
        # portal.registry.extract). Setting the pragma expires prepared statements, so it
        # applies to these alone.
        cursor.execute("PRAGMA ignore_check_constraints = ON")
        # New rows land all over person's eight indexes: with the default 2 MB page cache
        # the same pages are read again and again.
        cursor.execute(f"PRAGMA cache_size = {-INSERT_CACHE_KIB}")
        rows = iter(values)
        while chunk := list(islice(rows, INSERT_CHUNK)):
            cursor.executemany(statement, [_sqlite_dates(row, dates) for row in chunk])
    finally:
        cursor.execute("PRAGMA ignore_check_constraints = OFF")
        cursor.execute(f"PRAGMA cache_size = {int(cache_size)}")
        cursor.close()


def _sqlite_dates(row: tuple[Any, ...], dates: tuple[int, ...]) -> tuple[Any, ...]:
    values = list(row)
    for i in dates:
        value = values[i]
        if isinstance(value, datetime):
            values[i] = value.isoformat(" ", "microseconds")
        elif isinstance(value, date):
            values[i] = value.isoformat()
    return tuple(values)


def _insert_persons(
    connection: sa.Connection, rows: list[Row], batch: ImportBatch, inserted: Inserted
) -> dict[str, int]:
    """One new person per ID number not yet recorded; returns {ID number: person id}, read
    back by the batch's id (indexed) in one query."""
    new: list[PersonValues] = []
    seen: set[str] = set()
    for row in rows:
        person = row.person
        if person is None or row.existing_id is not None or person.id_number in seen:
            continue
        seen.add(person.id_number)
        new.append(person)
    if not new:
        return {}
    now = utcnow()
    province_id = batch.commune.province_id
    batch_id = batch.id  # an ORM attribute: read once, not once per row
    status = new_status()

    def values() -> Iterator[tuple[Any, ...]]:
        named: dict[str, tuple[str, str]] = {}  # names repeat: each one worked out once
        for (
            id_number,
            full_name,
            folded,
            sex,
            birth,
            precision,
            nationality,
            phone,
            commune_id,
            address,
        ) in new:
            derived = named.get(full_name)
            if derived is None:
                derived = named[full_name] = (norm(full_name), sort_key(full_name))
            yield (
                full_name,
                derived[0],
                folded,
                derived[1],
                sex,
                birth,
                precision,
                id_number,
                id_kind_for(id_number).value,
                nationality,
                phone,
                commune_id,
                province_id,
                address,
                status,
                1,
                now,
                now,
                batch_id,
            )

    _executemany(connection, "person", PERSON_COLUMNS, values(), (5, 16, 17))
    inserted.persons.update((person.commune_id, status) for person in new)
    return {
        str(number): pid
        for number, pid in connection.execute(
            sa.select(Person.id_number, Person.id).where(Person.import_batch_id == batch_id)
        )
    }


def new_status() -> str:
    """A created person's status, by the rule of the record services and matching: the ID
    checks would give missing_id / invalid_id, but the import refuses such rows, so every
    created person waits for matching (foreign nationals too: matching exempts them)."""
    return PersonStatus.UNVERIFIED.value


def _insert_doses(
    connection: sa.Connection,
    rows: list[Row],
    created: dict[str, int],
    batch: ImportBatch,
    inserted: Inserted,
) -> tuple[int, int]:
    """The doses not recorded yet; returns (doses added, doses already recorded)."""
    new: list[tuple[PersonValues, DoseValues, int | None]] = []
    matched = 0
    for row in rows:
        if row.dose is None or row.person is None:
            continue
        if row.duplicate:
            matched += row.existing_id is not None
            continue
        new.append((row.person, row.dose, row.existing_id))
    batch_id = batch.id  # an ORM attribute: read once, not once per row
    _executemany(
        connection,
        "dose",
        DOSE_COLUMNS,
        (
            (existing or created[person.id_number], *dose, batch_id)
            for person, dose, existing in new
        ),
        (4,),
    )
    # A matched person is in the batch's commune too (the checks refuse any other).
    inserted.doses.update(
        (person.commune_id, dose[4] or 0, dose[1]) for person, dose, _existing in new
    )
    return len(new), matched


# --- downloads -------------------------------------------------------------------------------


def error_report(batch: ImportBatch) -> IO[bytes]:
    """The rejected rows as a workbook with the template's columns and a reason column:
    fixed, it can be uploaded again (the reason column is ignored then)."""
    rejected = {int(number): reason for number, reason in (batch.report or {}).get("rejected", [])}
    table = _read(batch)
    positions = table.positions

    def raw(key: str) -> Callable[[list[Any]], Any]:
        index = positions.get(key)

        def value(cells: list[Any]) -> Any:
            cell = cells[index] if index is not None and index < len(cells) else None
            if isinstance(cell, datetime) and cell == datetime(cell.year, cell.month, cell.day):
                return cell.date()
            if isinstance(cell, float) and cell.is_integer():
                return int(cell)
            return cell

        return value

    columns = [export.Column(HEADERS[key], raw(key), 18) for key in KEYS]
    columns.append(export.Column(REASON_HEADER, lambda cells: cells[-1], 60))
    rows = (
        [*table.rows[number - 1], rejected[number]]
        for number in sorted(rejected)
        if number - 1 < len(table.rows)
    )
    return export.xlsx_file(columns, [rows], "Dòng bị từ chối")


EXAMPLE = {
    "full_name": EXAMPLE_NAME,
    "sex": "Nữ",
    "birth_date": date(1990, 5, 2),
    "id_number": EXAMPLE_ID,
    "nationality": "VN",
    "phone": "0912345678",
    "commune_code": "",
    "address": "Số 1, ngõ 2, phố Đội Cấn",
    "dose_number": 1,
    "vaccine": "Vaxzevria (AstraZeneca)",
    "lot": "ABV1234",
    "vaccinated_on": date(2021, 8, 20),
    "site_code": "",
}
EXPLANATIONS = {
    "full_name": "Họ, chữ đệm và tên, có dấu (ví dụ: Nguyễn Thị Mẫu).",
    "sex": "Nam hoặc Nữ (chọn trong danh sách).",
    "birth_date": "dd/mm/yyyy (ví dụ 02/05/1990); nếu chỉ biết tháng: mm/yyyy; chỉ biết năm: "
    "yyyy. Không được sau ngày hôm nay.",
    "id_number": "CCCD 12 chữ số hoặc CMND 9 chữ số, nhập dạng văn bản để giữ số 0 ở đầu. "
    "Dấu cách, dấu chấm được bỏ tự động. Người nước ngoài: số hộ chiếu.",
    "nationality": "Để trống hoặc VN cho công dân Việt Nam; người nước ngoài: mã quốc gia 2 "
    "chữ cái (ví dụ KR, US).",
    "phone": "Không bắt buộc.",
    "commune_code": "Mã xã/phường thường trú (5 chữ số). Để trống: xã/phường của trạm y tế "
    "nhập file.",
    "address": "Không bắt buộc.",
    "dose_number": "Mỗi mũi tiêm một dòng (lặp lại thông tin cá nhân). Số thứ tự mũi: 1 đến "
    "10; mũi sau không được trước mũi trước. Để trống các cột mũi tiêm nếu chỉ "
    "nhập thông tin cá nhân.",
    "vaccine": "Chọn trong danh sách (trang “Danh mục vắc xin”). Cũng nhận mã sản phẩm (ví dụ "
    "EU/1/20/1528) hoặc tên thường gọi (Pfizer, AstraZeneca, Moderna, Vero Cell…), "
    "không phân biệt hoa thường và dấu.",
    "lot": "Không bắt buộc.",
    "vaccinated_on": "dd/mm/yyyy; không được sau ngày hôm nay hay trước ngày sinh.",
    "site_code": "Mã cơ sở tiêm chủng (không bắt buộc).",
}


def template_workbook(commune: Area | None = None) -> bytes:
    """The import template: the headers in Vietnamese, lists for sex and vaccine, one
    example row (ignored if it is left in), and a sheet explaining each column."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Danh sách"
    bold = Font(bold=True)
    for col, (key, header, mandatory) in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=col, value=header + (" *" if mandatory else ""))
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        sheet.column_dimensions[get_column_letter(col)].width = 24 if key != "vaccine" else 30
        example = EXAMPLE[key]
        if key == "commune_code" and commune is not None:
            example = commune.code
        value = sheet.cell(row=2, column=col, value=example)
        value.font = Font(italic=True, color="808080")
        if isinstance(example, date):
            value.number_format = "dd/mm/yyyy"
        # Text cells keep leading zeros of ID numbers and codes.
        if key in ("id_number", "phone", "commune_code", "site_code", "lot"):
            for row in range(2, 2002):
                sheet.cell(row=row, column=col).number_format = "@"
    sheet.freeze_panes = "A2"
    letter = {key: get_column_letter(i) for i, key in enumerate(KEYS, start=1)}
    sex_list = DataValidation(
        type="list",
        formula1='"Nam,Nữ"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Giới tính",
        error="Chọn Nam hoặc Nữ.",
    )
    # The list lives on a sheet of its own: an inline list is limited to 255 characters.
    products = vaccines.catalogue().products
    catalogue = workbook.create_sheet("Danh mục vắc xin")
    catalogue.append(["Tên vắc xin", "Mã sản phẩm (EU DCC)", "Loại vắc xin", "Nhà sản xuất"])
    for cell in catalogue[1]:
        cell.font = bold
    for product in products:
        catalogue.append([product.name, product.code, product.type_label, product.manufacturer])
    for column, width in zip("ABCD", (44, 22, 48, 48), strict=True):
        catalogue.column_dimensions[column].width = width
    vaccine_list = DataValidation(
        type="list",
        formula1=f"'Danh mục vắc xin'!$A$2:$A${len(products) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Vắc xin",
        error="Chọn vắc xin trong danh sách.",
    )
    sheet.add_data_validation(sex_list)
    sheet.add_data_validation(vaccine_list)
    sex_list.add(f"{letter['sex']}2:{letter['sex']}2001")
    vaccine_list.add(f"{letter['vaccine']}2:{letter['vaccine']}2001")

    guide = workbook.create_sheet("Hướng dẫn")
    guide.append(["Cột", "Bắt buộc", "Cách ghi"])
    for cell in guide[1]:
        cell.font = bold
    for key, header, mandatory in COLUMNS:
        guide.append([header, "Có" if mandatory else "Không", EXPLANATIONS[key]])
    guide.append([])
    guide.append(
        [
            "Dòng 2 của trang “Danh sách” là dòng mẫu (Nguyễn Thị Mẫu): hãy xoá hoặc ghi "
            "đè; nếu để nguyên, dòng này được bỏ qua."
        ]
    )
    guide.append(
        [
            "Tải lên file .xlsx này (hoặc CSV UTF-8 cùng tiêu đề cột). Hệ thống kiểm tra "
            "thử toàn bộ file trước, chỉ ghi khi bạn xác nhận; các dòng lỗi không được "
            "ghi và có thể tải về, sửa, rồi tải lên lại."
        ]
    )
    guide.column_dimensions["A"].width = 22
    guide.column_dimensions["B"].width = 10
    guide.column_dimensions["C"].width = 100
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
