"""Exports of the record list and the police review list, as CSV and Excel: the columns,
the filters and scope, the audit trail, and formula injection neutralised in both."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal.audit.models import AuditEvent
from portal.core import export
from portal.extensions import db
from portal.records.models import BirthPrecision, Person, Sex
from portal.registry.matching import match_commune
from tests.conftest import NEIGHBOUR, OWN

INJECTIONS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]
BORN = date(1990, 5, 17)


def vi(message: str) -> str:
    """The text the (Vietnamese) user sees; new texts may not be translated yet."""
    with force_locale("vi"):
        return gettext(message)


def read_csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_xlsx(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == export.XLSX_MIMETYPE
    assert "attachment" in response.headers["Content-Disposition"]
    assert ".xlsx" in response.headers["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.data)).active


def sheet_rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def audit_events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


# --- the helper -------------------------------------------------------------------------


@pytest.mark.parametrize("value", INJECTIONS)
def test_formula_like_texts_get_an_apostrophe(value):
    assert export.neutralise(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["Nguyễn Văn An", "a=b", "0912345678", "", -2, 3.5, None, date(2021, 1, 2)]
)
def test_other_values_are_left_alone(value):
    assert export.neutralise(value) == value


def test_birth_value_is_a_date_only_when_known_to_the_day():
    assert export.birth_value(BORN, BirthPrecision.DAY) == BORN
    assert export.birth_value(BORN, BirthPrecision.MONTH) == "05/1990"
    assert export.birth_value(BORN, BirthPrecision.YEAR) == "1990"
    assert export.birth_value(None, "day") == ""


COLUMNS = [
    export.Column("Text", lambda r: r[0], 30),
    export.Column("Number", lambda r: r[1]),
    export.Column("When", lambda r: r[2]),
]
ROWS = [
    ("=1+2", -2, date(2021, 9, 15)),
    ("Trần Thị Ánh", 7, datetime(2024, 1, 31, 8, 5, 9)),
    ("0012\x07", 0, None),
]


def test_csv_helper():
    text = "".join(export.csv_chunks(COLUMNS, [ROWS[:1], ROWS[1:], []]))
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text[1:])))
    assert table == [
        ["Text", "Number", "When"],
        ["'=1+2", "-2", "15/09/2021"],
        # Stored in UTC, written in Vietnam time (issue 13, item 17).
        ["Trần Thị Ánh", "7", "31/01/2024 15:05:09"],
        ["0012\x07", "0", ""],
    ]
    # No rows at all: the header alone.
    assert "".join(export.csv_chunks(COLUMNS, [])) == "\ufeffText,Number,When\r\n"


def test_xlsx_helper():
    with export.xlsx_file(COLUMNS, [ROWS[:1], ROWS[1:]], "Danh sách: 1/2") as handle:
        book = openpyxl.load_workbook(handle)
    sheet = book.active
    assert sheet.title == "Danh sách  1 2"
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["A"].width == 30
    assert all(cell.font.b for cell in sheet[1])
    text, number, when = sheet[2]
    assert (text.value, text.data_type) == ("'=1+2", "s")
    assert (number.value, number.data_type) == (-2, "n")
    assert when.value == datetime(2021, 9, 15) and when.number_format == "dd/mm/yyyy"
    text, _, when = sheet[3]
    assert text.value == "Trần Thị Ánh"
    assert when.value == datetime(2024, 1, 31, 15, 5, 9)  # Vietnam time (issue 13, item 17)
    assert when.number_format == "dd/mm/yyyy hh:mm:ss"
    # A control character XML forbids is dropped rather than spoiling the whole file.
    assert sheet["A4"].value == "0012" and sheet["A4"].data_type == "s"


# --- the record list --------------------------------------------------------------------


@pytest.fixture
def persons(make_person):
    made = {
        "anh": make_person(
            full_name="Nguyễn Thị Ngọc Ánh",
            sex=Sex.FEMALE,
            id_number="001190000123",
            phone="0912345678",
        ),
        "old": make_person(
            full_name="Đỗ Đức Thắng",
            birth_date=date(1960, 1, 1),
            birth_precision=BirthPrecision.YEAR,
        ),
        "neighbour": make_person(full_name="Trần Văn Hàng Xóm", commune_code=NEIGHBOUR),
    }
    for n, name in enumerate(INJECTIONS):
        made[name] = make_person(
            full_name=name, id_number=f"00109000000{n}", address="=cmd|' /C calc'!A0"
        )
    # The forms collapse whitespace; an older import may not have: store the tab and CR as is.
    for name in ("\tTab", "\rCR"):
        db.session.execute(
            sa.update(Person).where(Person.id == made[name].id).values(full_name=name)
        )
    db.session.commit()
    return made


def test_records_xlsx_export(client, login_as, persons):
    user = login_as()
    before = len(audit_events("records.export"))
    sheet = read_xlsx(client.get("/records/export.xlsx"))

    rows = sheet_rows(sheet)
    assert rows[0][:4] == [vi("Full name"), vi("Sex"), vi("Date of birth"), vi("ID number")]
    assert rows[0][-1] == vi("Doses")
    by_name = {row[0]: row for row in rows[1:]}
    # Scope: the neighbouring commune's person is never exported.
    assert "Trần Văn Hàng Xóm" not in by_name
    assert len(by_name) == 2 + len(INJECTIONS)
    anh = by_name["Nguyễn Thị Ngọc Ánh"]
    assert anh[1] == vi("Female")
    # Known to the day: a real date shown dd/mm/yyyy; known to the year: the year as text.
    assert anh[2] == datetime(1985, 3, 14)
    assert sheet.cell(row=rows.index(anh) + 1, column=3).number_format == "dd/mm/yyyy"
    assert by_name["Đỗ Đức Thắng"][2] == "1960"
    # ID and phone numbers are text and keep their leading zeros.
    assert anh[3] == "001190000123" and anh[5] == "0912345678"
    assert sheet.cell(row=rows.index(anh) + 1, column=4).data_type == "s"
    assert anh[6] == "Phường Ba Đình"
    assert anh[-1] == 0

    events = audit_events("records.export")
    assert len(events) == before + 1
    assert events[-1].actor_name == user.username
    assert events[-1].changes["format"] == [None, "xlsx"]
    assert events[-1].changes["rows"] == [None, 2 + len(INJECTIONS)]


def test_records_export_neutralises_formulas_in_both_formats(client, login_as, persons):
    login_as()
    sheet = read_xlsx(client.get("/records/export.xlsx"))
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    table = read_csv(client.get("/records/export.csv"))
    lines = {row[0]: row for row in table[1:]}
    for name in INJECTIONS:
        # XML reads a carriage return back as a line feed (Excel too) unless the writer escaped
        # it (openpyxl does with lxml, which pyHanko brings in); the apostrophe stays.
        row = cells.get("'" + name) or cells["'" + name.replace("\r", "\n")]
        assert row[0].data_type == "s" and row[7].data_type == "s"  # never a formula
        assert row[7].value == "'=cmd|' /C calc'!A0"
        line = lines["'" + name]
        assert line[7] == "'=cmd|' /C calc'!A0"
    # Nothing else is touched: names with diacritics, ID numbers, dates.
    assert lines["Nguyễn Thị Ngọc Ánh"][2:4] == ["14/03/1985", "001190000123"]
    assert lines["Đỗ Đức Thắng"][2] == "1960"


def test_records_xlsx_export_respects_filters(client, login_as, persons):
    login_as()
    before = len(audit_events("records.export"))
    rows = sheet_rows(read_xlsx(client.get("/records/export.xlsx?q=ngoc+anh")))
    assert [row[0] for row in rows[1:]] == ["Nguyễn Thị Ngọc Ánh"]
    rows = sheet_rows(read_xlsx(client.get("/records/export.xlsx?q=0011900")))
    assert [row[0] for row in rows[1:]] == ["Nguyễn Thị Ngọc Ánh"]
    events = audit_events("records.export")
    assert len(events) == before + 2
    assert events[-2].changes["filters"][1] == {"q": "ngoc anh", "sort": "name"}


def test_records_xlsx_export_of_another_commune_is_refused(client, login_as, persons):
    login_as()
    before = len(audit_events("records.export"))
    response = client.get(f"/records/export.xlsx?commune={NEIGHBOUR}")
    assert response.status_code == 400
    assert "Trần Văn Hàng Xóm" not in response.get_data(as_text=True)
    assert len(audit_events("records.export")) == before


def test_records_export_buttons(client, login_as, persons):
    login_as()
    page = client.get("/records?q=ngoc").get_data(as_text=True)
    assert 'href="/records/export.csv?q=ngoc"' in page
    assert 'href="/records/export.xlsx?q=ngoc"' in page


# --- the police review list -------------------------------------------------------------


def cccd(n: int) -> str:
    return f"001090{n:06d}"


@pytest.fixture
def mismatches(area, make_person, make_register):
    """In OWN: a diacritics difference, a swapped date, a sex difference, one not found, one
    match and a formula-like name; in NEIGHBOUR: a mismatch the OWN police never see."""
    people = {
        "diacritics": make_person(full_name="Nguyen Van Binh", id_number=cccd(1), birth_date=BORN),
        "swapped": make_person(
            full_name="Trần Văn Cường", id_number=cccd(2), birth_date=date(1990, 6, 3)
        ),
        "sex": make_person(
            full_name="Lê Văn Dũng", id_number=cccd(3), birth_date=BORN, sex="female"
        ),
        "absent": make_person(full_name="Phạm Văn Em", id_number=cccd(4), birth_date=BORN),
        "same": make_person(full_name="Hoàng Văn Giang", id_number=cccd(5), birth_date=BORN),
        "formula": make_person(
            full_name='=HYPERLINK("http://x")', id_number=cccd(7), birth_date=BORN
        ),
        "neighbour": make_person(
            full_name="Vũ Văn Hải", id_number=cccd(6), birth_date=BORN, commune_code=NEIGHBOUR
        ),
    }
    truth = [
        (1, "Nguyễn Văn Bình", BORN),
        (2, "Trần Văn Cường", date(1990, 3, 6)),
        (3, "Lê Văn Dũng", BORN),
        (5, "Hoàng Văn Giang", BORN),
        (6, "Vũ Văn Hai", BORN),
        (7, "@Lê Thị Hoa", BORN),
    ]
    make_register(
        *({"id_number": cccd(n), "full_name": name, "birth_date": born} for n, name, born in truth)
    )
    match_commune(area(OWN))
    match_commune(area(NEIGHBOUR))
    db.session.commit()
    return people


def test_review_csv_export_has_both_sides_and_the_differences(client, login_as, mismatches):
    police = login_as("police", OWN)
    before = len(audit_events("worklist.export"))
    table = read_csv(client.get("/worklists/review/export.csv"))

    header = table[0]
    assert header[0] == vi("Full name (record)") and header[1] == vi("Full name (register)")
    # A column of times says its zone (issue 13, item 17).
    assert vi("ID number") in header and header[-1] == vi("Checked at") + " (giờ Việt Nam)"
    by_id = {row[6]: row for row in table[1:]}
    assert set(by_id) == {cccd(1), cccd(2), cccd(3), cccd(4), cccd(7)}  # no neighbour
    assert by_id[cccd(1)][:6] == [
        "Nguyen Van Binh",
        "Nguyễn Văn Bình",
        "17/05/1990",
        "17/05/1990",
        vi("Male"),
        vi("Male"),
    ]
    assert by_id[cccd(1)][7:11] == [
        vi("only diacritics"),
        vi("identical"),
        vi("identical"),
        vi("Differs from the register"),
    ]
    assert by_id[cccd(2)][2:4] == ["03/06/1990", "06/03/1990"]
    assert by_id[cccd(2)][8] == vi("day and month swapped")
    assert by_id[cccd(3)][4:6] == [vi("Female"), vi("Male")]
    assert by_id[cccd(3)][9] == vi("different")
    # Not in the register: no register side and no comparison, only the outcome.
    assert by_id[cccd(4)][1] == by_id[cccd(4)][3] == by_id[cccd(4)][5] == ""
    assert by_id[cccd(4)][7:11] == ["", "", "", vi("Not found in the register")]
    # Both sides are neutralised.
    assert by_id[cccd(7)][:2] == ['\'=HYPERLINK("http://x")', "'@Lê Thị Hoa"]
    checked = datetime.strptime(by_id[cccd(1)][11], "%d/%m/%Y %H:%M:%S")
    assert abs((checked - datetime.now()).total_seconds()) < 24 * 3600

    events = audit_events("worklist.export")
    assert len(events) == before + 1
    assert events[-1].actor_id == police.id
    assert events[-1].changes == {"filters": [None, {}], "rows": [None, 5], "format": [None, "csv"]}


def test_review_xlsx_export(client, login_as, mismatches):
    login_as("police", OWN)
    sheet = read_xlsx(client.get("/worklists/review/export.xlsx"))
    assert sheet.freeze_panes == "A2"
    rows = {row[6].value: row for row in sheet.iter_rows(min_row=2)}
    assert set(rows) == {cccd(1), cccd(2), cccd(3), cccd(4), cccd(7)}
    binh = rows[cccd(1)]
    assert [c.value for c in binh[:2]] == ["Nguyen Van Binh", "Nguyễn Văn Bình"]
    assert binh[2].value == binh[3].value == datetime(1990, 5, 17)
    assert binh[2].number_format == "dd/mm/yyyy"
    assert binh[6].data_type == "s"  # the ID number keeps its leading zeros
    assert binh[7].value == vi("only diacritics")
    assert isinstance(binh[11].value, datetime)
    assert binh[11].number_format == "dd/mm/yyyy hh:mm:ss"
    formula = rows[cccd(7)]
    assert formula[0].value == '\'=HYPERLINK("http://x")' and formula[0].data_type == "s"
    assert formula[1].value == "'@Lê Thị Hoa" and formula[1].data_type == "s"
    assert audit_events("worklist.export")[-1].changes["format"] == [None, "xlsx"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("difference=sex", {cccd(3)}),
        ("difference=not_found", {cccd(4)}),
        ("difference=birth", {cccd(2)}),
        ("q=cuong", {cccd(2)}),
        ("difference=name&q=binh", {cccd(1)}),
    ],
)
def test_review_export_respects_the_filters(client, login_as, mismatches, query, expected):
    login_as("police", OWN)
    table = read_csv(client.get(f"/worklists/review/export.csv?{query}"))
    assert {row[6] for row in table[1:]} == expected
    sheet = read_xlsx(client.get(f"/worklists/review/export.xlsx?{query}"))
    assert {row[6].value for row in sheet.iter_rows(min_row=2)} == expected
    event = audit_events("worklist.export")[-1]
    assert event.changes["rows"] == [None, len(expected)]
    assert event.changes["filters"][1] == dict(p.split("=") for p in query.split("&"))


def test_review_export_with_a_bad_filter_is_refused(client, login_as, mismatches):
    login_as("police", OWN)
    before = len(audit_events("worklist.export"))
    assert client.get("/worklists/review/export.csv?difference=bogus").status_code == 400
    assert len(audit_events("worklist.export")) == before


@pytest.mark.parametrize(
    "role", ["health_station", "committee", "vaccination_site", "health_authority", "admin"]
)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_only_police_export_the_review_list(client, login_as, mismatches, role, fmt):
    login_as(role, OWN if role not in ("health_authority", "admin") else "01")
    before = len(audit_events("worklist.export"))
    assert client.get(f"/worklists/review/export.{fmt}").status_code == 403
    assert len(audit_events("worklist.export")) == before


def test_review_export_buttons_keep_the_filters(client, login_as, mismatches):
    login_as("police", OWN)
    page = client.get("/worklists/review?difference=sex").get_data(as_text=True)
    assert 'href="/worklists/review/export.csv?difference=sex"' in page
    assert 'href="/worklists/review/export.xlsx?difference=sex"' in page


def test_unknown_format_is_not_found(client, login_as, mismatches):
    login_as("police", OWN)
    assert client.get("/worklists/review/export.pdf").status_code == 404
