"""Lists exported as CSV or Excel: the columns shown on screen, written batch by batch.

Every text cell is neutralised against formula injection: a value that a spreadsheet
would read as a formula (it begins with = + - @, a tab or a carriage return) gets a
leading apostrophe, as OWASP advises for CSV, and in Excel it is also stored as a plain
string, never as a formula. Numbers stay numbers, negative ones included.

Times are stored in UTC; every time written here is Vietnam's (Asia/Ho_Chi_Minh), as on
the screens, and the header of a column of times says so ("Thời điểm (giờ Việt Nam)"):
no export has to remember it. A column is one of times when it says so (``time=True``)
or when its values in the first batch are times.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from operator import itemgetter
from typing import IO, Any

from flask import Response, current_app, send_file, stream_with_context
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from portal.core.clock import format_birth, format_date, format_time, to_vietnam
from portal.core.web import time_heading
from portal.extensions import db

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# XML 1.0 forbids these; openpyxl would refuse the whole file, so they are dropped.
ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
XLSX_DATE = "dd/mm/yyyy"
XLSX_TIME = "dd/mm/yyyy hh:mm:ss"
# The rows of the first batch looked at to find the columns of times.
SAMPLE_ROWS = 200
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Value = str | int | float | date | datetime | None


@dataclass(frozen=True)
class Column:
    label: Any  # a (lazy) translated text, rendered in the user's language when written
    value: Callable[[Any], Value]
    width: float = 16
    time: bool = False  # a column of times (else found from the first batch's values)


def local_time(value: datetime) -> datetime:
    """A stored time (naive UTC, or aware) as Vietnam's wall-clock time, naive: what a
    spreadsheet cell and a CSV field hold."""
    return to_vietnam(value).replace(tzinfo=None)


def neutralise(value: Any) -> Any:
    """A text a spreadsheet would run as a formula, made inert; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def birth_value(value: date | None, precision: Any) -> date | str:
    """A birth date known to the day is a real date (it sorts in Excel); one known only to
    the month or the year stays text (mm/yyyy, yyyy): a date would invent a day."""
    if value is None:
        return ""
    if getattr(precision, "value", precision) == "day":
        return value
    return format_birth(value, precision)


def read_now(columns: Sequence[Column], items: Iterable[Any]) -> tuple[list[Column], list[list]]:
    """The cells of ``items`` worked out now, and columns that read those rows: for an
    export whose own audit event commits before the file is written (a commit expires the
    ORM objects the columns would otherwise read, after the session has gone)."""
    rows = [[c.value(item) for c in columns] for item in items]
    return [Column(c.label, itemgetter(i), c.width, c.time) for i, c in enumerate(columns)], rows


def _with_headings(
    columns: Sequence[Column], batches: Iterable[Iterable[Any]]
) -> tuple[list[str], Iterator[Iterable[Any]]]:
    """The headings (a column of times says its zone) and the batches, the first one read
    now to find the columns of times (and to raise any error while the view still runs)."""
    iterator = iter(batches)
    read: list[list[Any]] = []
    for batch in iterator:  # up to the first batch with rows
        read.append(list(batch))
        if read[-1]:
            break
    sample = read[-1][:SAMPLE_ROWS] if read else []
    headings = []
    for column in columns:
        is_time = column.time or any(isinstance(column.value(row), datetime) for row in sample)
        headings.append(time_heading(column.label) if is_time else str(column.label))
    return headings, itertools.chain(read, iterator)


def _csv_text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, str):
        return neutralise(value)
    return str(value)


def csv_chunks(columns: Sequence[Column], batches: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text, one chunk per batch; the BOM makes Excel read it as UTF-8."""
    headings, batches = _with_headings(columns, batches)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([neutralise(heading) for heading in headings])
    for batch in batches:
        for row in batch:
            writer.writerow([_csv_text(c.value(row)) for c in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no batch at all: the header alone
        yield buffer.getvalue()


def _xlsx_cell(sheet, value: Value, bold: Font | None = None) -> WriteOnlyCell:
    if isinstance(value, str):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_XML.sub("", neutralise(value)))
        cell.data_type = "s"  # never a formula, never a number: ID numbers keep their zeros
    elif isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=local_time(value))
        cell.number_format = XLSX_TIME
    else:
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, date):
            cell.number_format = XLSX_DATE
    if bold is not None:
        cell.font = bold
    return cell


def xlsx_file(columns: Sequence[Column], batches: Iterable[Iterable[Any]], title: str) -> IO[bytes]:
    """The workbook in a temporary file; write-only mode keeps one row in memory at a time."""
    headings, batches = _with_headings(columns, batches)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=re.sub(r"[\[\]:*?/\\]", " ", title)[:31])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    bold = Font(bold=True)
    sheet.append([_xlsx_cell(sheet, heading, bold) for heading in headings])
    for batch in batches:
        for row in batch:
            sheet.append([_xlsx_cell(sheet, c.value(row)) for c in columns])
    output = tempfile.TemporaryFile()
    workbook.save(output)
    output.seek(0)
    return output


def _ended_on_error(chunks: Iterator[str]) -> Iterator[str]:
    try:
        yield from chunks
    except Exception:
        current_app.logger.exception("Export failed while streaming")
        db.session.rollback()
        yield (
            "\r\n"
            + neutralise(_("The export failed here: this file is incomplete. Please try again."))
            + "\r\n"
        )


def response(
    fmt: str,
    columns: Sequence[Column],
    batches: Iterable[Iterable[Any]],
    filename: str,
    title: str,
) -> Response:
    """The download: CSV streamed as it is read, Excel built first (a zip needs its end).

    Rows already read (a list, as ``read_now`` gives) are written before the answer starts,
    so that any error reaches the portal's error page. Batches read as the file streams
    (a whole commune's records) cannot do that: once the download has started, an error
    is logged and ends the file with a line saying it is incomplete; the server's own
    error page (Werkzeug's, in English) can never be what the user gets."""
    if fmt == "csv":
        chunks: Iterable[str]
        if isinstance(batches, list | tuple):
            chunks = ["".join(csv_chunks(columns, batches))]
        else:
            chunks = stream_with_context(_ended_on_error(csv_chunks(columns, batches)))
        return Response(
            chunks,
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename={filename}.csv"},
        )
    if fmt == "xlsx":
        return send_file(
            xlsx_file(columns, batches, title),
            mimetype=XLSX_MIMETYPE,
            as_attachment=True,
            download_name=f"{filename}.xlsx",
        )
    raise ValueError(fmt)
