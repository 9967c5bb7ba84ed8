"""Reading an uploaded import file: the rows of its first sheet, and where its header is.

The upload defences are the shared ones (``portal.core.spreadsheets``): a workbook is
checked before calamine opens it, macros are refused. On top of them this module tells a
password-protected workbook and a CSV in a legacy Vietnamese encoding apart, so that the
message says what to do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.core.spreadsheets import FileRejected, csv_rows, xlsx_rows
from portal.core.text import fold

# The columns of the template, in its order: (key, header in the template, mandatory).
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("full_name", "Họ và tên", True),
    ("sex", "Giới tính", True),
    ("birth_date", "Ngày sinh", True),
    ("id_number", "Số CCCD/CMND", True),
    ("nationality", "Quốc tịch", False),
    ("phone", "Số điện thoại", False),
    ("commune_code", "Mã xã/phường", False),
    ("address", "Địa chỉ", False),
    ("dose_number", "Mũi số", False),
    ("vaccine", "Tên vắc xin", False),
    ("lot", "Số lô", False),
    ("vaccinated_on", "Ngày tiêm", False),
    ("site_code", "Mã cơ sở tiêm", False),
)
KEYS = tuple(key for key, _header, _mandatory in COLUMNS)
MANDATORY = tuple(key for key, _header, mandatory in COLUMNS if mandatory)
HEADERS = {key: header for key, header, _mandatory in COLUMNS}
REASON = "reason"  # the error report's added column: ignored when the report comes back
REASON_HEADER = "Lý do bị từ chối"
# Header texts as they are compared: folded, without "*", "(…)", "_" and extra spaces.
ALIASES: dict[str, str] = {
    "ho va ten": "full_name",
    "ho ten": "full_name",
    "full name": "full_name",
    "ten": "full_name",
    "gioi tinh": "sex",
    "gioi": "sex",
    "sex": "sex",
    "ngay sinh": "birth_date",
    "ngay thang nam sinh": "birth_date",
    "nam sinh": "birth_date",
    "birth date": "birth_date",
    "so cccd/cmnd": "id_number",
    "so cccd": "id_number",
    "cccd/cmnd": "id_number",
    "cccd": "id_number",
    "cmnd": "id_number",
    "so dinh danh": "id_number",
    "so dinh danh ca nhan": "id_number",
    "so giay to": "id_number",
    "id number": "id_number",
    "quoc tich": "nationality",
    "nationality": "nationality",
    "so dien thoai": "phone",
    "dien thoai": "phone",
    "sdt": "phone",
    "phone": "phone",
    "ma xa/phuong": "commune_code",
    "ma xa": "commune_code",
    "ma phuong": "commune_code",
    "commune code": "commune_code",
    "dia chi": "address",
    "address": "address",
    "mui so": "dose_number",
    "mui": "dose_number",
    "mui tiem": "dose_number",
    "mui tiem so": "dose_number",
    "dose number": "dose_number",
    "ten vac xin": "vaccine",
    "vac xin": "vaccine",
    "loai vac xin": "vaccine",
    "vaccine": "vaccine",
    "so lo": "lot",
    "lo": "lot",
    "lot": "lot",
    "ngay tiem": "vaccinated_on",
    "vaccinated on": "vaccinated_on",
    "ma co so tiem": "site_code",
    "ma co so": "site_code",
    "ma diem tiem": "site_code",
    "site code": "site_code",
    "ly do bi tu choi": REASON,
    "ly do": REASON,
    "reason": REASON,
}
# The template's example row: ignored when it is left in the file.
EXAMPLE_NAME = "Nguyễn Thị Mẫu"
EXAMPLE_ID = "001190012345"
HEADER_SEARCH_ROWS = 30  # a header below a title block, but not lost in the data
_DECORATION = re.compile(r"\(.*?\)|\*")


@dataclass
class Table:
    """The sheet's rows (as the spreadsheet numbers them, from 1: ``rows[0]`` is row 1),
    the header's last row (0-based), and the position of each known column."""

    rows: list[list[Any]]
    header_end: int
    positions: dict[str, int]


def read_table(data: bytes, filename: str) -> Table:
    """The rows of the file and its header, or FileRejected saying why not."""
    extension = os.path.splitext(filename)[1].lower()
    if extension == ".csv":
        _refuse_legacy_encoding(data)
        rows = list(csv_rows(data))
    elif extension == ".xlsx":
        _refuse_protected(data)
        rows = list(xlsx_rows(data, convert=False))
    elif extension in (".xlsm", ".xltm", ".xlam"):
        raise FileRejected(
            _l(
                "Macro-enabled workbooks are refused. Save the workbook as "
                "an Excel workbook (.xlsx) without macros."
            )
        )
    elif extension == ".xls" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            _l(
                "Old Excel files (.xls) cannot be read. Open the file in Excel "
                "and save it as an Excel workbook (.xlsx)."
            )
        )
    else:
        raise FileRejected(
            _l(
                "Only Excel (.xlsx) and CSV (.csv) files can be imported; this "
                "file is “%(name)s”. Download the template and fill it in.",
                name=filename or "?",
            )
        )
    if not any(any(not _blank(c) for c in row) for row in rows):
        raise FileRejected(_l("The file is empty."))
    header_end, positions = find_header(rows)
    return Table(rows, header_end, positions)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def header_key(value: Any) -> str | None:
    if _blank(value):
        return None
    text = _DECORATION.sub(" ", fold(str(value).replace("\ufeff", "")).replace("_", " "))
    return ALIASES.get(" ".join(text.split()))


def _known(cells: Sequence[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = header_key(cell)
        if key is not None and key not in found:
            found[key] = index
    return found


def find_header(rows: list[list[Any]]) -> tuple[int, dict[str, int]]:
    """The header: the first row (among the first ones) that names the mandatory columns.

    A two-row header with merged cells is read as one: a group title merged over the dose
    columns in the first row, their names in the second, and the person's columns merged
    down over both rows (the merged cell's value is in its first row only).
    """
    best: tuple[int, dict[str, int]] | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = _known(cells)
        end = index
        if len(found) < 2:
            continue  # a title, a note or a data row
        if index + 1 < len(rows):
            below = _known(rows[index + 1])
            if (
                below
                and not set(below) & set(found)
                and all(
                    i >= len(cells) or _blank(cells[i]) or header_key(cells[i]) is None
                    for i in below.values()
                )
            ):
                found = {**found, **below}
                end = index + 1
        if all(key in found for key in MANDATORY):
            return end, found
        if len(found) >= 2 and (best is None or len(found) > len(best[1])):
            best = (index, found)
    if best is not None:
        missing = ", ".join(HEADERS[key] for key in MANDATORY if key not in best[1])
        raise FileRejected(
            _l(
                "The header row (row %(row)d) lacks the mandatory column(s) "
                "%(columns)s. Use the template's headers.",
                row=best[0] + 1,
                columns=missing,
            )
        )
    raise FileRejected(
        _l(
            "No header row with the expected columns was found (Họ và tên, Giới "
            "tính, Ngày sinh, Số CCCD/CMND …). Download the template and copy "
            "the data under its headers."
        )
    )


def _refuse_protected(data: bytes) -> None:
    """A password-protected .xlsx is not a zip but an OLE2 container with the encrypted
    package inside; say so instead of "damaged"."""
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise FileRejected(
                _l(
                    "The workbook is protected by a password. Open it in Excel, "
                    "remove the password (File › Info › Protect Workbook) and "
                    "save it again."
                )
            )
        raise FileRejected(
            _l(
                "Old Excel files (.xls) cannot be read. Open the file in Excel "
                "and save it as an Excel workbook (.xlsx)."
            )
        )


def _refuse_legacy_encoding(data: bytes) -> None:
    """CSV files saved by old Vietnamese Windows software are Windows-1258 (or TCVN3/VNI,
    which look alike to a program): decoding them by guess would corrupt names silently,
    so the file is refused with what to do."""
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"\xff\xfe", b"\xfe\xff")):
        return  # the shared reader says it is a workbook, or UTF-16
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        row = data.count(b"\n", 0, error.start) + 1
        raise FileRejected(legacy_message(row), row) from None


def legacy_message(row: int) -> LazyString:
    return _l(
        "The CSV file is not in UTF-8: it looks like a legacy Vietnamese encoding "
        "(Windows-1258, TCVN3 or VNI), first seen on row %(row)d. Nothing was imported. "
        "In Excel choose File › Save As › “CSV UTF-8 (Comma delimited)”, or use the "
        ".xlsx template.",
        row=row,
    )
