"""Reading uploaded spreadsheets safely: the defences every upload goes through.

A workbook is checked before any parser opens it (zip entry count, uncompressed size and
compression ratio, [Content_Types].xml read with defusedxml, macros refused); it is then
read with python-calamine. A CSV must be UTF-8 (with or without BOM), comma or semicolon.
Used by the register extract (``portal.registry.extract``) and the Excel import
(``portal.imports``).
"""

from __future__ import annotations

import csv
import gc
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from defusedxml import DefusedXmlException, ElementTree
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum

# Zip-bomb defence: an .xlsx of a million rows holds ~15 entries and ~300 MB of XML.
MAX_ZIP_ENTRIES = 1000
MAX_UNCOMPRESSED = 1024 * 1024 * 1024
MAX_RATIO = 200  # XML compresses 10-30x; beyond 200x an entry is built to explode
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
CONTENT_TYPES_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


class FileRejected(Exception):
    """The file as a whole cannot be read; ``row`` is known for an encoding error."""

    def __init__(self, message: LazyString, row: int | None = None):
        super().__init__(str(message))
        self.message = message
        self.row = row


def csv_rows(data: bytes) -> Iterator[list[str]]:
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        raise FileRejected(
            _l(
                "This is an Excel workbook, not a CSV file. Save it as an "
                "Excel workbook (.xlsx) or as “CSV UTF-8”."
            )
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected(not_utf8(), 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRejected(not_utf8(), data.count(b"\n", 0, error.start) + 1) from None
    del data
    if "\x00" in text:
        raise FileRejected(_l("The file is not a text CSV file."))
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    del text
    try:
        yield from reader
    except csv.Error as error:
        raise FileRejected(
            _l(
                "The CSV file is malformed near row %(row)d: %(problem)s.",
                row=reader.line_num,
                problem=str(error),
            ),
            reader.line_num,
        ) from None


def not_utf8() -> LazyString:
    return _l(
        "The file must be saved with UTF-8 encoding. In Excel choose Save As, “CSV UTF-8 "
        "(Comma delimited)”; the first character that is not UTF-8 is on this row."
    )


def xlsx_rows(data: bytes, convert: bool = True) -> Iterator[list[Any]]:
    """The first worksheet's rows; ``convert=False`` leaves calamine's values as they are
    (a reader that takes booleans and times as text itself saves a call per cell)."""
    check_workbook(data)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [m.name for m in workbook.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        if not sheets:
            raise FileRejected(_l("The workbook has no worksheet."))
        sheet = workbook.get_sheet_by_name(sheets[0])
        # iter_rows() counts rows from the sheet's first row, columns from the used range's.
        offset = sheet.start[1] if sheet.start else 0
        rows = sheet.iter_rows()
    except (CalamineError, ValueError, OSError):
        raise FileRejected(not_xlsx()) from None
    for cells in rows:
        converted = [cell_value(c) for c in cells] if convert else cells
        # Pad to column A, so that positions and letters are the spreadsheet's own.
        yield [*[""] * offset, *converted] if offset else converted


def cell_value(value: Any) -> Any:
    """Workbook cells as the validator expects them: text, dates and numbers kept apart."""
    if isinstance(value, str) or isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return value
    return str(value)


def not_xlsx() -> LazyString:
    return _l(
        "The file is not a valid Excel workbook (.xlsx). It may be damaged, protected by "
        "a password, or an old .xls file: open it in Excel and save it as .xlsx."
    )


def check_workbook(data: bytes) -> None:
    """Refuse anything but a plain .xlsx before any parser opens it: a zip bomb, a
    macro-enabled workbook renamed, or another file with the extension."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError):
        raise FileRejected(not_xlsx()) from None
    with archive:
        entries = archive.infolist()
        too_big = _l("The workbook is too large or too compressed to be opened safely.")
        if len(entries) > MAX_ZIP_ENTRIES:
            raise FileRejected(too_big)
        total = 0
        for entry in entries:
            total += entry.file_size
            if entry.file_size > 1024 * 1024 and entry.file_size > MAX_RATIO * max(
                entry.compress_size, 1
            ):
                raise FileRejected(too_big)
        if total > MAX_UNCOMPRESSED:
            raise FileRejected(too_big)
        names = {entry.filename for entry in entries}
        if "[Content_Types].xml" not in names:
            raise FileRejected(not_xlsx())
        info = archive.getinfo("[Content_Types].xml")
        if info.file_size > 1024 * 1024:
            raise FileRejected(not_xlsx())
        try:
            types = ElementTree.fromstring(archive.read(info))
        except (ElementTree.ParseError, DefusedXmlException):  # entities and DTDs refused
            raise FileRejected(not_xlsx()) from None
    content_types = {
        element.get("ContentType", "") for element in types.iter(f"{CONTENT_TYPES_NS}Override")
    }
    if any("macroEnabled" in t for t in content_types) or "xl/vbaProject.bin" in names:
        raise FileRejected(
            _l(
                "Macro-enabled workbooks are refused. Save the workbook as "
                "an Excel workbook (.xlsx) without macros."
            )
        )
    if XLSX_MAIN not in content_types:
        raise FileRejected(not_xlsx())


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a million new tuples (which form no cycles)
    would set it off again and again, and it would walk them all each time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
