"""The register extract: reading CSV and XLSX, every kind of bad file, all-or-nothing
loading (replace and merge), the audit event, the command and the upload page."""

from __future__ import annotations

import html
import io
import re
import unicodedata
import zipfile
from datetime import date, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.text import fold, norm
from portal.extensions import db
from portal.records.models import BirthPrecision, Sex
from portal.registry import extract
from portal.registry.extract import MAX_REPORTED, import_extract, load_extract, parse_extract
from portal.registry.models import ExtractMode, RegisterEntry, RegisterExtract
from tests.conftest import csrf_token

HEADER = ["id_number", "full_name", "sex", "birth_date"]
GOOD = [
    ["001085012345", "Nguyễn Văn  An", "Nam", "14/03/1985"],
    ["123456789", "Trần Thị Bình", "nữ", "1990"],
    ["079190000123", "Lê Thị Hà", "NU", "1990-02-28"],
    ["001200000077", "  Phạm   Đức Anh ", "M", "5/1/2003"],
    ["034301000009", "Đỗ Thu Trang", "female", "07/2001"],
]
NOTHING = "Nothing was imported; the register is unchanged. Correct the file and import it again."


def vi(message: str, **variables) -> str:
    """The text of a catalogue message as a Vietnamese user reads it."""
    with force_locale("vi"):
        return gettext(message, **variables)


def said(issue: extract.Issue) -> str:
    with force_locale("vi"):
        return str(issue.message)


def csv_bytes(rows, header=HEADER, bom=False, delimiter=",", encoding="utf-8") -> bytes:
    lines = [delimiter.join(header), *(delimiter.join(row) for row in rows)]
    text = "\r\n".join(lines) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def xlsx_bytes(rows, header=HEADER, **sheet_cells) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    for cell, value in sheet_cells.items():
        sheet[cell] = value
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def parse(data: bytes, name: str = "trich-xuat.csv") -> extract.ParsedExtract:
    return parse_extract(io.BytesIO(data), name)


def load(data: bytes, name: str = "trich-xuat.csv", mode=ExtractMode.REPLACE, user=None):
    parsed, summary = import_extract(io.BytesIO(data), name, mode, user)
    assert summary is not None, [(i.row, i.column, said(i)) for i in parsed.errors]
    db.session.commit()
    return summary


def entries() -> dict[str, RegisterEntry]:
    db.session.expire_all()
    return {e.id_number: e for e in db.session.scalars(sa.select(RegisterEntry))}


def extract_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(RegisterExtract))


def problems(parsed) -> list[tuple[int | None, str | None, str]]:
    return [(i.row, i.column, said(i)) for i in parsed.errors]


# --- good files --------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [False, True], ids=["utf8", "utf8-bom"])
def test_good_csv_loads(bom):
    summary = load(csv_bytes(GOOD, bom=bom))
    assert (summary.rows, summary.inserted, summary.updated, summary.deleted) == (5, 5, 0, 0)
    loaded = entries()
    assert set(loaded) == {row[0] for row in GOOD}
    an = loaded["001085012345"]
    assert (an.full_name, an.sex, an.birth_date, an.birth_precision) == (
        "Nguyễn Văn An",
        Sex.MALE,
        date(1985, 3, 14),
        BirthPrecision.DAY,
    )
    assert an.name_norm == norm("Nguyễn Văn An") == "nguyễn văn an"
    assert an.name_folded == fold("Nguyễn Văn An") == "nguyen van an"
    assert an.extract_id == summary.extract_id
    binh = loaded["123456789"]
    assert (binh.sex, binh.birth_date, binh.birth_precision) == (
        Sex.FEMALE,
        date(1990, 1, 1),
        BirthPrecision.YEAR,
    )
    assert loaded["079190000123"].sex == Sex.FEMALE
    assert loaded["079190000123"].birth_date == date(1990, 2, 28)
    anh = loaded["001200000077"]
    assert (anh.full_name, anh.sex, anh.birth_date) == ("Phạm Đức Anh", Sex.MALE, date(2003, 1, 5))
    trang = loaded["034301000009"]
    assert (trang.birth_date, trang.birth_precision) == (date(2001, 7, 1), BirthPrecision.MONTH)
    version = db.session.get(RegisterExtract, summary.extract_id)
    assert (version.source, version.mode, version.row_count) == (
        "trich-xuat.csv",
        ExtractMode.REPLACE,
        5,
    )
    assert len(version.file_sha256) == 64


def test_semicolon_csv_as_excel_saves_it_in_vietnamese():
    summary = load(csv_bytes(GOOD, bom=True, delimiter=";"))
    assert summary.inserted == 5 and set(entries()) == {row[0] for row in GOOD}


def test_quoted_fields_and_commas_in_names():
    data = (
        'id_number,full_name,sex,birth_date\r\n"001085012345","Nguyễn, Văn An",Nam,14/03/1985\r\n'
    ).encode()
    load(data)
    assert entries()["001085012345"].full_name == "Nguyễn, Văn An"


def test_headers_in_any_order_case_and_spaces_and_vietnamese_names():
    load(
        csv_bytes(
            [["Nam", "1985", "Nguyễn Văn An", "001085012345"]],
            header=[" Sex", "BIRTH_DATE ", "Full_Name", "id_number"],
        )
    )
    assert entries()["001085012345"].full_name == "Nguyễn Văn An"
    load(
        csv_bytes(
            [["001085012345", "Nguyễn Văn Ân", "Nam", "1985"]],
            header=["so_dinh_danh", "ho_ten", "gioi_tinh", "ngay_sinh"],
        )
    )
    assert entries()["001085012345"].full_name == "Nguyễn Văn Ân"


def test_decomposed_unicode_is_stored_composed():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    load(csv_bytes([["001185000001", decomposed, "Nữ", "1985"]]))
    assert entries()["001185000001"].full_name == "Nguyễn Thị Ánh"


def test_blank_rows_and_trailing_empty_columns_are_ignored():
    data = (
        "id_number,full_name,sex,birth_date,,\r\n\r\n001085012345,Nguyễn Văn An,Nam,1985,,"
        "\r\n,,,\r\n123456789,Trần Thị Bình,Nữ,1990\r\n"
    ).encode()
    parsed = parse(data)
    assert parsed.ok, problems(parsed)
    assert set(parsed.entries) == {"001085012345", "123456789"}


def test_the_fast_and_the_row_by_row_validation_agree():
    rows = [*GOOD, ["001190000042", "Hồ Thị Mai", "Nữ", "1970"]]
    fast = parse(csv_bytes(rows))
    # A blank line makes the column-wise pass give way to the row-by-row one.
    slow = parse(csv_bytes(rows).replace(b"\r\n", b"\r\n\r\n", 1))
    assert fast.ok and slow.ok
    assert {k: v[:7] for k, v in fast.entries.items()} == {
        k: v[:7] for k, v in slow.entries.items()
    }
    assert [v[extract.ROW] for v in fast.entries.values()] == [2, 3, 4, 5, 6, 7]
    assert [v[extract.ROW] for v in slow.entries.values()] == [3, 4, 5, 6, 7, 8]
    assert list(fast.entries.values())[0][:4] == (
        "001085012345",
        "Nguyễn Văn An",
        "nguyễn văn an",
        "nguyen van an",
    )


def test_xlsx_with_date_cells_serial_numbers_and_years():
    data = xlsx_bytes(
        [
            ["001085012345", "Nguyễn Văn An", "Nam", date(1985, 3, 14)],
            ["079190000123", "Lê Thị Hà", "Nữ", 32932],  # serial number of 28/02/1990
            ["123456789", "Trần Thị Bình", "nu", 1990],  # a bare year typed as a number
            ["001200000077", "Phạm Đức Anh", "M", "05/01/2003"],
            ["001199000001", "Võ Văn Bảo", "male", datetime(1999, 12, 31, 0, 0)],
            [123456788, "Hồ Thị Mai", "F", "1970-06-30"],  # a 9-digit number keeps its digits
        ]
    )
    summary = load(data, "trich-xuat.xlsx")
    assert summary.rows == 6
    loaded = entries()
    assert loaded["001085012345"].birth_date == date(1985, 3, 14)
    assert loaded["079190000123"].birth_date == date(1990, 2, 28)
    assert (loaded["123456789"].birth_date, loaded["123456789"].birth_precision) == (
        date(1990, 1, 1),
        BirthPrecision.YEAR,
    )
    assert loaded["001200000077"].birth_date == date(2003, 1, 5)
    assert loaded["001199000001"].birth_date == date(1999, 12, 31)
    assert loaded["123456788"].full_name == "Hồ Thị Mai"


def test_xlsx_table_not_starting_at_a1_reports_the_sheets_own_cells():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for offset, row in enumerate([HEADER, ["001085012345", "Nguyễn Văn An", "Nam", "31/02/1985"]]):
        for column, value in enumerate(row):
            sheet.cell(row=3 + offset, column=2 + column, value=value)
    out = io.BytesIO()
    workbook.save(out)
    parsed = parse(out.getvalue(), "x.xlsx")
    assert [(i.row, i.column, i.letter) for i in parsed.errors] == [(4, "birth_date", "E")]


def test_identical_duplicates_are_imported_once_with_a_warning():
    rows = [*GOOD, ["123456789", "Trần  Thị Bình", "Nữ", "1990"]]
    parsed = parse(csv_bytes(rows))
    assert parsed.ok
    assert len(parsed.entries) == 5
    assert [(w.row, w.column) for w in parsed.warnings] == [(7, "id_number")]
    assert said(parsed.warnings[0]) == vi(
        "ID number %(id)s repeats row %(row)d with the same data; it is imported once.",
        id="123456789",
        row=3,
    )


# --- bad files: a report, and the previous extract untouched -------------------------------


def cp1258(text: str) -> bytes:
    """Windows-1258, as old Vietnamese Windows saves it: tones as combining marks."""
    out = b""
    for char in text:
        try:
            out += char.encode("cp1258")
        except UnicodeEncodeError:
            base, *marks = unicodedata.normalize("NFD", char)
            try:
                out += (base + "".join(marks)).encode("cp1258")
            except UnicodeEncodeError:
                out += unicodedata.normalize("NFC", base + marks[0]).encode("cp1258")
                out += "".join(marks[1:]).encode("cp1258")
    return out


def _rows(*extra):
    return csv_bytes([GOOD[0], GOOD[1], *extra])


DIGITS_ONLY = "The ID number “%(value)s” may contain only digits."
DIGIT_COUNT = "The ID number must have 9 or 12 digits; “%(value)s” has %(n)d."
NOT_A_DATE = "%(what)s: “%(value)s” is not a real date."  # records.rules' message
UNREADABLE = (
    "Unreadable date of birth “%(value)s”: write dd/mm/yyyy, yyyy-mm-dd or only the year (yyyy)."
)
DIFFERENT = "ID number %(id)s is also on row %(row)d, with different data."
UNKNOWN_COLUMN = (
    "Unknown column “%(name)s”. The columns must be id_number, full_name, sex and birth_date."
)
MISSING_COLUMN = (
    "Column “%(name)s” is missing. The columns must be id_number, full_name, sex and birth_date."
)
NOT_UTF8 = (
    "The file must be saved with UTF-8 encoding. In Excel choose Save As, “CSV UTF-8 "
    "(Comma delimited)”; the first character that is not UTF-8 is on this row."
)
NOT_XLSX = (
    "The file is not a valid Excel workbook (.xlsx). It may be damaged, protected by a "
    "password, or an old .xls file: open it in Excel and save it as .xlsx."
)
MACROS = (
    "Macro-enabled workbooks are refused. Save the workbook as an Excel workbook (.xlsx) "
    "without macros."
)
NOT_CSV_OR_XLSX = (
    "Only CSV (.csv) and Excel (.xlsx) files can be imported; this file is “%(name)s”."
)
TOO_BIG = "The workbook is too large or too compressed to be opened safely."

BAD_FILES = {
    "13-digit ID": (
        _rows(["0010850123456", "Ngô Văn Cường", "Nam", "1985"]),
        "x.csv",
        [(4, "id_number", DIGIT_COUNT, {"value": "0010850123456", "n": 13})],
    ),
    "ID with letters": (
        _rows(["00108501234A", "Ngô Văn Cường", "Nam", "1985"]),
        "x.csv",
        [(4, "id_number", DIGITS_ONLY, {"value": "00108501234A"})],
    ),
    "31/02/1990": (
        _rows(["001090000001", "Ngô Văn Cường", "Nam", "31/02/1990"]),
        "x.csv",
        [(4, "birth_date", NOT_A_DATE, {"what": "Date of birth", "value": "31/02/1990"})],
    ),
    # 14.03.1990 is read, as the import reads it (issue 13, item 19).
    "unreadable date": (
        _rows(["001090000001", "Ngô Văn Cường", "Nam", "14/3/90"]),
        "x.csv",
        [(4, "birth_date", UNREADABLE, {"value": "14/3/90"})],
    ),
    "future date": (
        _rows(["001090000001", "Ngô Văn Cường", "Nam", "01/01/2999"]),
        "x.csv",
        [
            (
                4,
                "birth_date",
                "The date of birth %(value)s is in the future.",
                {"value": "01/01/2999"},
            )
        ],
    ),
    "before 1900": (
        _rows(["001090000001", "Ngô Văn Cường", "Nam", "1899-12-31"]),
        "x.csv",
        [
            (
                4,
                "birth_date",
                "The date of birth %(value)s is before %(year)d.",
                {"value": "31/12/1899", "year": 1900},
            )
        ],
    ),
    "unknown sex": (
        _rows(["001090000001", "Ngô Văn Cường", "X", "1990"]),
        "x.csv",
        [(4, "sex", "Unknown sex “%(value)s”: write Nam or Nữ.", {"value": "X"})],
    ),
    "missing values": (
        _rows(["001090000001", " ", "", ""]),
        "x.csv",
        [
            (4, "full_name", "Enter the full name.", {}),
            (4, "sex", "The sex is missing.", {}),
            (4, "birth_date", "The date of birth is missing.", {}),
        ],
    ),
    "duplicate ID, different data": (
        _rows(
            ["079190000123", "Lê Thị Hà", "Nữ", "1990"], ["079190000123", "Lê Thị Hạ", "Nữ", "1990"]
        ),
        "x.csv",
        [(5, "id_number", DIFFERENT, {"id": "079190000123", "row": 4})],
    ),
    "wrong headers": (
        csv_bytes(GOOD, header=["cccd", "full_name", "sex", "dob"]),
        "x.csv",
        [
            (1, "cccd", UNKNOWN_COLUMN, {"name": "cccd"}),
            (1, "dob", UNKNOWN_COLUMN, {"name": "dob"}),
            (1, "id_number", MISSING_COLUMN, {"name": "id_number"}),
            (1, "birth_date", MISSING_COLUMN, {"name": "birth_date"}),
        ],
    ),
    "column twice": (
        csv_bytes(GOOD, header=["id_number", "full_name", "sex", "SEX"]),
        "x.csv",
        [
            (1, "sex", "Column “%(name)s” appears twice.", {"name": "sex"}),
            (1, "birth_date", MISSING_COLUMN, {"name": "birth_date"}),
        ],
    ),
    "Windows-1258": (
        csv_bytes(GOOD[:1]) + cp1258("123456789,Trần Thị Bình,Nữ,1990\r\n"),
        "x.csv",
        [(3, None, NOT_UTF8, {})],
    ),
    "UTF-16": (
        "\n".join(",".join(r) for r in [HEADER, *GOOD]).encode("utf-16"),
        "x.csv",
        [(1, None, NOT_UTF8, {})],
    ),
    "a text file": (csv_bytes(GOOD), "x.txt", [(None, None, NOT_CSV_OR_XLSX, {"name": "x.txt"})]),
    "old Excel": (
        b"\xd0\xcf\x11\xe0" + b"\0" * 100,
        "x.xls",
        [(None, None, NOT_CSV_OR_XLSX, {"name": "x.xls"})],
    ),
    "xlsm": (xlsx_bytes(GOOD), "x.xlsm", [(None, None, MACROS, {})]),
    "a CSV named .xlsx": (csv_bytes(GOOD), "x.xlsx", [(None, None, NOT_XLSX, {})]),
    "a workbook named .csv": (
        xlsx_bytes(GOOD),
        "x.csv",
        [
            (
                None,
                None,
                (
                    "This is an Excel workbook, not a CSV file. "
                    "Save it as an Excel workbook (.xlsx) or as “CSV UTF-8”."
                ),
                {},
            )
        ],
    ),
    "empty": (b"", "x.csv", [(None, None, "The file is empty.", {})]),
    "header only": (
        csv_bytes([]),
        "x.csv",
        [(None, None, "The file has a header row but no data rows.", {})],
    ),
    "Excel dropped the leading zero": (
        xlsx_bytes([[1085012345, "Nguyễn Văn An", "Nam", "1985"]]),
        "x.xlsx",
        [
            (
                2,
                "id_number",
                "The ID number %(value)s was stored as a number, so Excel dropped "
                "its leading zero. Format the column as Text and enter the number again.",
                {"value": "1085012345"},
            )
        ],
    ),
    "a value right of the table": (
        _rows(["001090000001", "Ngô Văn Cường", "Nam", "1990", "ghi chú"]),
        "x.csv",
        [
            (
                4,
                None,
                "This row has values to the right of the last column (%(letter)s).",
                {"letter": "D"},
            )
        ],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_reports_where_and_leaves_the_register_untouched(case):
    data, name, expected = BAD_FILES[case]
    first = load(csv_bytes(GOOD))
    before = {k: (e.full_name, e.sex, e.birth_date, e.extract_id) for k, e in entries().items()}
    events = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))

    parsed, summary = import_extract(io.BytesIO(data), name, ExtractMode.REPLACE)

    assert summary is None and not parsed.ok
    assert problems(parsed) == [
        (row, column, vi(message, **{k: vi(v) if k == "what" else v for k, v in values.items()}))
        for row, column, message, values in expected
    ]
    assert parsed.error_count == len(expected)
    db.session.rollback()
    assert extract_count() == 1
    after = {k: (e.full_name, e.sex, e.birth_date, e.extract_id) for k, e in entries().items()}
    assert after == before and {e[3] for e in after.values()} == {first.extract_id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events


def test_load_refuses_an_invalid_extract():
    parsed = parse(_rows(["001090000001", "Ngô Văn Cường", "Nam", "31/02/1990"]))
    with pytest.raises(extract.ExtractInvalid):
        load_extract(parsed, ExtractMode.MERGE)
    assert extract_count() == 0


def test_many_errors_are_counted_and_the_first_ones_listed():
    rows = [[f"{n:013d}", "Ngô Văn Cường", "Nam", "1990"] for n in range(MAX_REPORTED + 50)]
    parsed = parse(csv_bytes(rows))
    assert parsed.error_count == MAX_REPORTED + 50
    assert len(parsed.errors) == MAX_REPORTED
    assert parsed.errors[0].row == 2 and parsed.errors[-1].row == MAX_REPORTED + 1


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def test_zip_bombs_and_fake_workbooks_are_refused_before_parsing():
    real = zipfile.ZipFile(io.BytesIO(xlsx_bytes(GOOD)))
    parts = {info.filename: real.read(info) for info in real.infolist()}
    bomb = _zip({**parts, "xl/media/padding.bin": b"\0" * (64 * 1024 * 1024)})
    many = _zip({**parts, **{f"xl/media/{n}.bin": b"x" for n in range(1200)}})
    macros = _zip({**parts, "xl/vbaProject.bin": b"VBA"})
    no_types = _zip({k: v for k, v in parts.items() if k != "[Content_Types].xml"})
    entity = _zip(
        {
            **parts,
            "[Content_Types].xml": (
                b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><Types>&a;</Types>'
            ),
        }
    )
    broken = _zip({**parts, "xl/worksheets/sheet1.xml": b"<worksheet><sheetData><row>"})
    for data, message in [
        (bomb, TOO_BIG),
        (many, TOO_BIG),
        (macros, MACROS),
        (no_types, NOT_XLSX),
        (entity, NOT_XLSX),
        (broken, NOT_XLSX),
    ]:
        assert problems(parse(data, "x.xlsx")) == [(None, None, vi(message))]


# --- replace and merge ----------------------------------------------------------------------


CHANGED = [
    ["001085012345", "Nguyễn Văn An", "Nam", "14/03/1985"],  # the same (spacing aside)
    ["123456789", "Trần Thị Bình", "Nữ", "02/05/1990"],  # a more precise birth date
    ["079190000123", "Lê Thị Hạ", "Nữ", "1990-02-28"],  # a corrected name
    ["001200000099", "Vũ Minh Khoa", "Nam", "2000"],  # new
]  # GOOD's 001200000077 and 034301000009 are absent


@pytest.mark.parametrize("rebuild", [True, False], ids=["bulk refill", "row by row"])
def test_replace_makes_the_file_the_whole_register(monkeypatch, rebuild):
    monkeypatch.setattr(extract, "REBUILD_SHARE", 0.0 if rebuild else 10.0)
    first = load(csv_bytes(GOOD))
    second = load(csv_bytes(CHANGED), "moi.csv", ExtractMode.REPLACE)
    assert (second.rows, second.inserted, second.updated, second.deleted, second.unchanged) == (
        4,
        1,
        2,
        2,
        1,
    )
    loaded = entries()
    assert set(loaded) == {row[0] for row in CHANGED}
    assert loaded["123456789"].birth_date == date(1990, 5, 2)
    assert loaded["123456789"].birth_precision == BirthPrecision.DAY
    assert (loaded["079190000123"].full_name, loaded["079190000123"].name_folded) == (
        "Lê Thị Hạ",
        "le thi ha",
    )
    # Only what changed carries the new version: matching re-checks just those persons.
    assert {k: e.extract_id for k, e in loaded.items()} == {
        "001085012345": first.extract_id,
        "123456789": second.extract_id,
        "079190000123": second.extract_id,
        "001200000099": second.extract_id,
    }


def test_merge_adds_and_updates_and_keeps_the_rest():
    first = load(csv_bytes(GOOD))
    second = load(csv_bytes(CHANGED), "moi.csv", ExtractMode.MERGE)
    assert (second.inserted, second.updated, second.deleted, second.unchanged) == (1, 2, 0, 1)
    loaded = entries()
    assert set(loaded) == {row[0] for row in GOOD} | {"001200000099"}
    assert loaded["034301000009"].extract_id == first.extract_id
    assert loaded["079190000123"].full_name == "Lê Thị Hạ"
    assert db.session.get(RegisterExtract, second.extract_id).mode == ExtractMode.MERGE


def test_loading_the_same_file_again_changes_nothing_but_the_version():
    first = load(csv_bytes(GOOD))
    again = load(csv_bytes(GOOD))
    assert (again.inserted, again.updated, again.deleted, again.unchanged) == (0, 0, 0, 5)
    assert {e.extract_id for e in entries().values()} == {first.extract_id}
    assert extract_count() == 2


def schema_of_register() -> set[str]:
    sql = db.session.execute
    if db.engine.dialect.name == "postgresql":
        return {
            f"{name} {definition}"
            for name, definition in sql(
                sa.text(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'register_entry'::regclass UNION ALL "
                    "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                    "WHERE indrelid = 'register_entry'::regclass"
                )
            )
        }
    return {
        row[0] or ""
        for row in sql(sa.text("SELECT sql FROM sqlite_master WHERE tbl_name = 'register_entry'"))
    }


def test_the_bulk_paths_leave_the_keys_indexes_and_constraints_as_they_were(monkeypatch):
    before = schema_of_register()
    assert any("FOREIGN KEY" in d for d in before)
    load(csv_bytes(GOOD))  # into the empty register
    assert schema_of_register() == before
    monkeypatch.setattr(extract, "REBUILD_SHARE", 0.0)
    load(csv_bytes(CHANGED))  # a replace refilling the table
    assert schema_of_register() == before
    with pytest.raises(sa.exc.IntegrityError):  # the foreign key is enforced again
        with db.session.begin_nested():
            db.session.execute(
                sa.text(
                    "INSERT INTO register_entry (id_number, full_name, name_norm, name_folded, "
                    "sex, birth_date, birth_precision, extract_id) VALUES ('999999999', 'X', 'x', "
                    "'x', 'male', '2000-01-01', 'day', 987654)"
                )
            )


def test_a_replace_by_a_disjoint_file_empties_the_old_register():
    load(csv_bytes(GOOD[:2]))
    summary = load(csv_bytes(GOOD[2:]))
    assert (summary.inserted, summary.deleted) == (3, 2)
    assert set(entries()) == {row[0] for row in GOOD[2:]}


def test_names_with_backslashes_are_refused_as_any_entry_point_refuses_them():
    """Issue 13, item 19: a backslash is no letter; the name rule of records.rules refuses
    it here as the inline editor and the import do. (This test loaded such names to
    exercise the COPY escaping, which stays for whatever a name may hold.)"""
    parsed, summary = import_extract(
        io.BytesIO(csv_bytes([["001085012345", "A\\B \\N", "Nam", "1985"]])),
        "x.csv",
        ExtractMode.MERGE,
    )
    assert summary is None
    assert problems(parsed) == [(2, "full_name", vi("A full name holds letters and spaces only."))]


def test_the_import_is_one_audit_event_with_the_counts(make_user):
    """(A replacement is a national administrator's since issue 14, item 1: this test's
    police user became one.)"""
    user = make_user(Role.NATIONAL_ADMIN, "01")
    load(csv_bytes(GOOD))
    summary = load(csv_bytes(CHANGED), "moi.csv", ExtractMode.REPLACE, user=user)
    event = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action == "register.import")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert event.entity_type == "register_extract"
    assert event.entity_id == str(summary.extract_id)
    assert event.actor_id == user.id and event.actor_role == "national_admin"
    assert {k: v[1] for k, v in event.changes.items()} == {
        "source": "moi.csv",
        "mode": "replace",
        "file_sha256": event.changes["file_sha256"][1],
        "rows": 4,
        "inserted": 1,
        "updated": 2,
        "deleted": 2,
        "unchanged": 1,
    }
    version = db.session.get(RegisterExtract, summary.extract_id)
    assert version.imported_by_id == user.id
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "register.import")
        )
        == 2
    )


# --- the command ----------------------------------------------------------------------------


def test_command_imports_and_reports(app, tmp_path, make_user):
    runner = app.test_cli_runner()
    user = make_user(Role.POLICE)
    good = tmp_path / "trich-xuat.csv"
    good.write_bytes(csv_bytes(GOOD))
    result = runner.invoke(args=["registry", "import", str(good), "--user", user.username])
    assert result.exit_code == 0, result.output
    assert len(entries()) == 5
    version = db.session.scalars(sa.select(RegisterExtract)).one()
    assert (version.source, version.mode, version.imported_by_id) == (
        "trich-xuat.csv",
        ExtractMode.MERGE,
        user.id,
    )  # merge unless told otherwise
    assert "5" in result.output

    merged = tmp_path / "moi.csv"
    merged.write_bytes(csv_bytes(CHANGED))
    result = runner.invoke(args=["registry", "import", str(merged), "--mode", "merge"])
    assert result.exit_code == 0, result.output
    assert len(entries()) == 6


def test_command_merges_by_default_and_replaces_only_when_told(app, tmp_path):
    runner = app.test_cli_runner()
    load(csv_bytes(GOOD))
    one = tmp_path / "mot-dong.csv"
    one.write_bytes(csv_bytes([GOOD[0]]))
    merged = runner.invoke(args=["registry", "import", str(one)])
    assert merged.exit_code == 0, merged.output
    assert len(entries()) == 5  # nothing dropped: merge is the default
    assert (
        db.session.scalars(
            sa.select(RegisterExtract.mode).order_by(RegisterExtract.id.desc())
        ).first()
        == ExtractMode.MERGE
    )

    # Replacing without --yes (no terminal to ask at) says what it would drop and refuses.
    refused = runner.invoke(args=["registry", "import", str(one), "--mode", "replace"])
    assert refused.exit_code == 1
    assert (
        "Thay thế toàn bộ sổ dữ liệu dân cư sẽ xoá 4 trong số 5 mục hiện có (những mục "
        "không có trong tệp); thêm 0, thay đổi 0."
    ) in refused.output
    assert "Không có gì thay đổi." in refused.output
    assert len(entries()) == 5 and extract_count() == 2

    replaced = runner.invoke(
        args=["registry", "import", str(one), "--mode", "replace", "--yes", "--lang", "en"]
    )
    assert replaced.exit_code == 0, replaced.output
    assert len(entries()) == 1 and extract_count() == 3
    assert "1 rows; 0 new, 0 changed, 4 removed, 1 unchanged." in replaced.output


def test_command_prints_the_report_and_exits_1(app, tmp_path):
    runner = app.test_cli_runner()
    load(csv_bytes(GOOD))
    bad = tmp_path / "sai.csv"
    bad.write_bytes(_rows(["0010850123456", "Ngô Văn Cường", "Nam", "31/02/1990"]))
    result = runner.invoke(args=["registry", "import", str(bad), "--mode", "replace"])
    assert result.exit_code == 1
    assert vi(DIGIT_COUNT, value="0010850123456", n=13) in result.output
    assert vi(NOT_A_DATE, what=vi("Date of birth"), value="31/02/1990") in result.output
    assert re.search(r"^\s+4\s+A · id_number", result.output, re.MULTILINE)
    assert re.search(r"^\s+4\s+D · birth_date", result.output, re.MULTILINE)
    assert extract_count() == 1 and len(entries()) == 5

    result = runner.invoke(args=["registry", "import", str(bad), "--user", "nobody"])
    assert result.exit_code == 2
    assert extract_count() == 1


# --- the upload page ------------------------------------------------------------------------

PAGE = "/registry/extracts"


def follow_job(client, response) -> str:
    """An upload is a queue job (run in-process by the tests): its page shows the outcome."""
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert re.search(r"/jobs/\d+$", location), location
    page = client.get(location)
    assert page.status_code == 200
    return page.get_data(as_text=True)


def upload(client, data: bytes, name: str, mode: str | None = "merge", token=None):
    form = {"csrf_token": token or csrf_token(client, PAGE), "file": (io.BytesIO(data), name)}
    if mode:
        form["mode"] = mode
    return client.post(PAGE, data=form, content_type="multipart/form-data")


@pytest.mark.parametrize("role", [Role.POLICE, Role.ADMIN])
def test_police_upload_an_extract(client, login_as, role):
    user = login_as(role)
    page = client.get(PAGE)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in body and 'name="mode"' in body
    assert f'href="{PAGE}"' in body  # the navigation link

    response = upload(client, csv_bytes(GOOD), "trich-xuat.csv", "merge")
    job_page = follow_job(client, response)
    assert 'data-testid="import-summary"' in job_page and "100%" in job_page
    after = client.get(PAGE).get_data(as_text=True)
    history = after.split('data-testid="extract-history"')[1]
    assert "trich-xuat.csv" in history and user.display_name in history
    assert vi("Merge") in history
    assert len(entries()) == 5
    assert db.session.scalars(sa.select(RegisterExtract)).one().imported_by_id == user.id


def test_only_administrators_replace_the_whole_register(client, app, login_as, make_user):
    """The register is shared by every commune: a commune's police merge into it. (Since
    issue 14, item 1, the administrator who replaces it is a national one, after a
    preview.)"""
    from tests.conftest import login

    login_as(Role.POLICE)
    assert 'value="replace"' not in client.get(PAGE).get_data(as_text=True)
    assert upload(client, csv_bytes(GOOD), "trich-xuat.csv", "replace").status_code == 400
    assert extract_count() == 0
    admin = app.test_client()
    login(admin, make_user(Role.NATIONAL_ADMIN, "01").username)
    assert 'value="replace"' in admin.get(PAGE).get_data(as_text=True)
    body = follow_job(admin, upload(admin, csv_bytes(GOOD), "trich-xuat.csv", "replace"))
    assert 'data-testid="replace-preview"' in body  # previewed, not yet written
    assert extract_count() == 0
    confirm = re.search(r'action="([^"]+/replace)"', body).group(1)
    token = csrf_token(admin, PAGE)
    body = follow_job(admin, admin.post(confirm, data={"csrf_token": token}))
    assert 'data-testid="import-summary"' in body
    assert extract_count() == 1


@pytest.mark.parametrize(
    "role", [Role.HEALTH_STATION, Role.COMMITTEE, Role.VACCINATION_SITE, Role.HEALTH_AUTHORITY]
)
def test_others_may_not_see_or_upload(client, login_as, role):
    login_as(role)
    assert client.get(PAGE).status_code == 403
    token = csrf_token(client, "/records")
    assert upload(client, csv_bytes(GOOD), "x.csv", token=token).status_code == 403
    assert extract_count() == 0
    assert f'href="{PAGE}"' not in client.get("/records").get_data(as_text=True)


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_upload_with_errors_shows_the_report_and_loads_nothing(client, login_as):
    login_as(Role.POLICE)
    load(csv_bytes(GOOD))
    bad = _rows(
        ["0010850123456", "Ngô Văn Cường", "Nam", "1990"],
        ["001090000001", "Ngô Văn Cường", "Nam", "31/02/1990"],
    )
    body = follow_job(client, upload(client, bad, "sai.csv"))
    table = body.split('data-testid="extract-errors"')[1].split("</table>")[0]
    cells = [
        re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td>(.*?)</td>", table, re.DOTALL)
    ]
    assert [html.unescape(c) for c in cells] == [
        "4",
        "A · id_number",
        vi(DIGIT_COUNT, value="0010850123456", n=13),
        "5",
        "D · birth_date",
        vi(NOT_A_DATE, what=vi("Date of birth"), value="31/02/1990"),
    ]
    assert html.escape(vi(NOTHING), quote=False) in body or vi(NOTHING) in html.unescape(body)
    assert extract_count() == 1


def test_xlsm_upload_is_refused(client, login_as):
    login_as(Role.POLICE)
    body = follow_job(client, upload(client, xlsx_bytes(GOOD), "trich-xuat.xlsm"))
    assert vi(MACROS) in html.unescape(body)
    assert extract_count() == 0


def test_upload_needs_a_file_a_mode_and_the_csrf_token(client, login_as):
    login_as(Role.POLICE)
    token = csrf_token(client, PAGE)
    no_file = client.post(
        PAGE, data={"csrf_token": token, "mode": "replace"}, content_type="multipart/form-data"
    )
    assert no_file.status_code == 400
    body = html.unescape(no_file.get_data(as_text=True))
    assert vi("Choose a CSV or Excel (.xlsx) file.") in body
    no_mode = upload(client, csv_bytes(GOOD), "x.csv", mode=None, token=token)
    assert no_mode.status_code == 400
    bad_mode = upload(client, csv_bytes(GOOD), "x.csv", mode="append", token=token)
    assert bad_mode.status_code == 400
    no_token = client.post(
        PAGE,
        data={"mode": "replace", "file": (io.BytesIO(b"x"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code == 400
    assert extract_count() == 0


def test_the_upload_waits_for_its_job_and_is_removed_after(
    app, client, login_as, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "UPLOADS_DIR", str(tmp_path))
    login_as(Role.POLICE)
    follow_job(client, upload(client, csv_bytes(GOOD), "trich-xuat.csv"))
    follow_job(client, upload(client, b"not,a,register\n1,2,3\n", "sai.csv"))
    assert list(tmp_path.iterdir()) == []


def test_the_job_page_lists_the_rows_imported_once(client, login_as):
    login_as(Role.POLICE)
    body = follow_job(client, upload(client, csv_bytes([*GOOD, GOOD[0]]), "lap.csv"))
    assert 'data-testid="import-summary"' in body
    warnings = body.split('data-testid="extract-warnings"')[1].split("</ul>")[0]
    assert "7" in warnings and "001085012345" in warnings


def _extracts_shown(body: str) -> list[str]:
    return re.findall(r'<td class="text-break">([^<]+)</td>', body)


def test_the_extract_list_is_paged_and_searched(client, login_as, make_user):
    """Issue 16: the imported extracts are paged by the one pager (the page showed the last
    50) and searched by file name with a WTForms form; a search too long has its
    Vietnamese message beside the field, in the fragment too. A commune's police see their
    own commune's imports only."""
    user = login_as(Role.POLICE)
    other = make_user(Role.POLICE, "79")
    for n in range(52):
        db.session.add(
            RegisterExtract(
                source=f"trich-{n:02}.csv", mode=ExtractMode.MERGE, imported_by_id=user.id
            )
        )
    db.session.add(
        RegisterExtract(source="trich-khac.csv", mode=ExtractMode.MERGE, imported_by_id=other.id)
    )
    db.session.commit()
    first = client.get(PAGE)
    body = first.get_data(as_text=True)
    assert first.status_code == 200
    assert _extracts_shown(body) == [f"trich-{n:02}.csv" for n in range(51, 1, -1)]
    next_url = html.unescape(re.search(r'rel="next" href="([^"]+)"', body).group(1))
    second = client.get(next_url, headers={"HX-Request": "true", "HX-Target": "extract-history"})
    fragment = second.get_data(as_text=True)
    assert second.status_code == 200 and "<html" not in fragment
    assert fragment.lstrip().startswith('<div id="extract-history"')
    assert _extracts_shown(fragment) == ["trich-01.csv", "trich-00.csv"]
    assert 'rel="prev"' in fragment and 'rel="next"' not in fragment

    assert _extracts_shown(client.get(PAGE + "?q=TRICH-07").get_data(as_text=True)) == [
        "trich-07.csv"
    ]
    assert "Không có bản trích xuất nào phù hợp." in client.get(PAGE + "?q=khac").get_data(
        as_text=True
    )
    wrong = client.get(
        PAGE,
        query_string={"q": "x" * 101},
        headers={"HX-Request": "true", "HX-Target": "extract-history"},
    )
    fragment = wrong.get_data(as_text=True)
    assert wrong.status_code == 200 and "<html" not in fragment
    assert re.search(
        r'id="extracts-q-error" hx-swap-oob="true">Trường này không được dài quá 100 ký tự',
        fragment,
    )
    assert len(_extracts_shown(fragment)) == 50
    bad = client.get(PAGE + "?before=not-a-cursor")
    assert bad.status_code == 400 and "Liên kết trang không hợp lệ" in bad.get_data(as_text=True)
