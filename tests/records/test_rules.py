"""Issue 13, item 19 and issue 16: one rule per field, the same verdict and message at every
entry point.

Each case is a field, a value and the rule of ``records.rules`` that refuses it (None: the
value is accepted). Every entry point that takes the field is asked: the inline editor,
the new-dose form, the Excel import and ``flask records import``, the register extract and
``flask registry import``, the remote register adapter (a service's JSON answer), the
public complaint form, the API's service and the API itself over HTTP (its schema, then
the rules). A number (a spreadsheet's cell) is asked of the entry points that read
spreadsheets; a partial birth date of those that take one (the complaint form and the API
want the whole date: ``birth_whole``). The API takes a dose number as a JSON integer:
another script's digits are the type's refusal there, not the rule's.

The remote register adapter takes the ID number only as the key of the question the
portal asked (a number it stores), not as a field to judge: it is not asked for ID numbers.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from portal.api.services import create_client, submission_from
from portal.core import dates
from portal.extensions import db
from portal.feedback.forms import FeedbackForm
from portal.feedback.services import SubmissionError
from portal.imports.parser import read_table
from portal.imports.validation import check_file
from portal.records import corrections, rules
from portal.records.forms import DoseForm
from portal.registry.adapter import RegisterUnavailable
from portal.registry.extract import parse_extract
from portal.registry.remote import RemoteRegister
from tests.conftest import OWN
from tests.imports.helpers import HEADER, row, xlsx
from tests.registry.stub_register import StubRegister

# field, value, the rule that refuses it (None: accepted)
CASES = [
    ("full_name", "Nguyễn Văn 4n", "name.characters"),
    ("full_name", "Nguyễn  Văn   An", None),
    ("full_name", "A" * 201, "name.too_long"),
    ("sex", "Khác", "sex.unknown"),
    ("sex", "nữ", None),
    ("sex", "M", None),
    ("birth_date", "31/02/1990", "birth.no_such_day"),
    ("birth_date", "01/01/2999", "birth.future"),
    ("birth_date", "1899-12-31", "birth.before_1900"),
    ("birth_date", "14.03.1985", None),
    ("birth_date", "1985-03-14", None),
    ("birth_partial", "03/1985", None),
    ("birth_partial", "1985-03", None),  # the remote register's month
    ("birth_partial", "1985", None),
    ("birth_partial", "13/1985", "birth.no_such_day"),
    ("birth_partial", "14/03/85", "birth.unreadable"),
    ("birth_partial", "2999", "birth.future"),
    ("birth_partial", 1985, None),  # a number cell holding a year
    ("birth_partial", 31120, None),  # an Excel serial: 14/03/1985
    ("birth_whole", "03/1985", "birth.not_full"),
    ("birth_whole", "14/03/85", "birth.not_full"),
    ("id_number", "999085012345", "id.bad_province"),
    ("id_number", "00108501234A", "id.not_digits"),
    ("id_number", "0010850123", "id.bad_length"),
    ("id_number", "001 085.012 345", None),
    ("id_number", "001 . 085 . 012 . 345", None),  # longer than the stored 20 characters
    ("id_number", 1085012345, "id.leading_zero"),  # a number cell lost the leading 0
    ("phone", "12345", "phone.invalid"),
    ("phone", "+84 912 345 678", None),
    ("phone", "(+84) 912 - 345 - 678", None),  # longer than the stored 20 characters
    ("nationality", "Việt", "nationality.invalid"),
    ("nationality", "Việt Nam", None),
    ("vaccine", "Nước lã", "vaccine.unknown"),
    ("vaccine", "PFIZER", None),
    ("dose_number", "11", "dose_number.range"),
    ("dose_number", "2", None),
    ("dose_number", "²", "dose_number.range"),  # str.isdigit says yes, int() raises
    ("dose_number", "٢", "dose_number.range"),  # another script's 2: int() reads it
    ("vaccinated_on", "31/02/2021", "dose_date.no_such_day"),
    ("vaccinated_on", "01/01/2999", "dose_date.future"),
    ("vaccinated_on", "01/01/2020", "dose_date.too_early"),
    ("vaccinated_on", "2021-08-01", None),
    ("vaccinated_on", 44409, None),  # an Excel serial: 01/08/2021
]

RULE_OF = {
    "full_name": rules.full_name,
    "sex": rules.sex,
    "birth_date": rules.birth_date,
    "birth_partial": rules.birth_date,
    "birth_whole": lambda raw: rules.birth_date(raw, full=True),
    "id_number": rules.id_number,
    "phone": rules.phone,
    "nationality": rules.nationality,
    "vaccine": rules.vaccine,
    "dose_number": rules.dose_number,
    "vaccinated_on": rules.vaccination_date,
}
# The field a case is about, where it is not the case's own name.
FIELD_OF = {"birth_partial": "birth_date", "birth_whole": "birth_date"}
IMPORT_COLUMN = {
    "full_name": "Họ và tên",
    "sex": "Giới tính",
    "birth_date": "Ngày sinh",
    "id_number": "Số CCCD/CMND",
    "nationality": "Quốc tịch",
    "phone": "Số điện thoại",
    "vaccine": "Tên vắc xin",
    "dose_number": "Mũi số",
    "vaccinated_on": "Ngày tiêm",
}
EXTRACT_COLUMNS = ("id_number", "full_name", "sex", "birth_date")
AN = "001085012345"


def _editor(person, field, value):
    form = {field: value, "reason": "Đã xem CCCD"}
    if field == "birth_date":
        # The editor asks how precisely the date is known: as precisely as it is written.
        try:
            shape = dates.read(value, partial=True)
        except dates.NoSuchDay:
            shape = None
        form["birth_precision"] = shape[1] if shape else "day"
    return corrections.parse(person, field, form).errors.get(field)


def _import_file(field, value) -> bytes:
    cells = row(dose=1, vaccine="Moderna", on="01/08/2021")
    cells[HEADER.index(IMPORT_COLUMN[field])] = value
    return xlsx([cells])


def _known(message: str) -> bool:
    """A message of records.rules (not one of the import's own, such as a dose out of
    order)."""
    return not message.startswith(("Mũi", "Thiếu"))


def _import(commune, field, value):
    checked = check_file(read_table(_import_file(field, value), "ds.xlsx"), commune)
    [only] = checked.rows
    refusals = [m for m in only.errors or [] if _known(m)]
    return refusals[0] if refusals else None


def _import_command(app, tmp_path, field, value):
    """``flask records import`` (a dry run): the first rule's refusal it prints."""
    path = tmp_path / "ds.xlsx"
    path.write_bytes(_import_file(field, value))
    result = app.test_cli_runner().invoke(args=["records", "import", str(path), "--commune", OWN])
    assert result.exit_code == 0, result.output
    refusals = re.findall(r"^Dòng 2, bị từ chối: (.*)$", result.output, re.MULTILINE)
    refusals = [m for m in refusals if _known(m)]
    return refusals[0] if refusals else None


def _extract_file(field, value) -> tuple[bytes, str]:
    """One register entry: CSV, or a workbook when the value is a number (a cell)."""
    cells = {
        "id_number": AN,
        "full_name": "Nguyễn Văn An",
        "sex": "Nam",
        "birth_date": "14/03/1985",
        field: value,
    }
    if not isinstance(value, str):
        return xlsx([[cells[k] for k in EXTRACT_COLUMNS]], header=list(EXTRACT_COLUMNS)), "x.xlsx"
    line = ",".join(f'"{cells[k]}"' for k in EXTRACT_COLUMNS)
    return (",".join(EXTRACT_COLUMNS) + "\n" + line + "\n").encode(), "x.csv"


def _extract(field, value):
    data, name = _extract_file(field, value)
    parsed = parse_extract(io.BytesIO(data), name)
    return str(parsed.errors[0].message) if parsed.errors else None


def _extract_command(app, tmp_path, field, value):
    """``flask registry import``: the problem it prints for the entry's row."""
    data, name = _extract_file(field, value)
    path = tmp_path / name
    path.write_bytes(data)
    result = app.test_cli_runner().invoke(args=["registry", "import", str(path)])
    assert result.exit_code in (0, 1), result.output
    # Row, column and problem, each problem on its line.
    problems = re.findall(r"^\s+2  .+?  (.*)$", result.output, re.MULTILINE)
    assert (result.exit_code == 1) == bool(problems), result.output
    return problems[0].strip() if problems else None


def _remote(stub, field, value):
    """The remote register adapter, answered by a service over HTTP."""
    record = {
        "id_number": AN,
        "full_name": "Nguyễn Văn An",
        "sex": "male",
        "birth_date": "1985-03-14",
        field: value,
    }
    stub.respond = lambda batch: {"records": [record]}
    try:
        RemoteRegister(stub.url, token="", backoff=0).lookup([AN])
    except RegisterUnavailable as refused:
        where, _, message = str(refused).partition(f'"{field}": ')
        assert where.startswith("Cơ sở dữ liệu quốc gia về dân cư trả lời không hợp lệ: ")
        return message
    return None


def _form(app, form_class, field, value, **data):
    with app.test_request_context(method="POST", data=MultiDict({**data, field: value})):
        form = form_class(meta={"csrf": False})
        form.validate()
        errors = getattr(form, field).errors
        return str(errors[0]) if errors else None


def _dose_form(app, field, value):
    data = {"dose_number": "1", "vaccine": "EU/1/20/1528", "vaccinated_on": "01/08/2021"}
    return _form(app, DoseForm, field, value, **data)


def _complaint_form(app, field, value):
    data = {
        "full_name": "Nguyễn Văn An",
        "birth_date": "14/03/1985",
        "phone": "0912345678",
        "kind": "missing_dose",
        "description": "Mũi 2 của tôi không có trên hệ thống.",
    }
    return _form(app, FeedbackForm, field, value, **data)


def _api_body(field, value) -> dict:
    return {
        "full_name": "Nguyễn Văn An",
        "birth_date": "1985-03-14",
        "phone": "0912345678",
        "kind": "missing_dose",
        "description": "Mũi 2 của tôi không có trên hệ thống.",
        field: int(value) if field == "dose_number" and value.isascii() else value,
    }


def _api(field, value):
    try:
        submission_from(_api_body(field, value))
    except SubmissionError as error:
        return error.errors.get(field)
    return None


def _http_api(client, field, value):
    """POST /api/v1/feedback with a client's token: the schema, then the rules."""
    _client, token = create_client("rules")
    db.session.commit()
    response = client.post(
        "/api/v1/feedback",
        json=_api_body(field, value),
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "rules"},
    )
    if response.status_code in (200, 201):
        return None
    answer = response.get_json()
    # Refused by the rules (422) for this field alone; else the answer, to show it.
    if response.status_code == 422 and set(answer["fields"]) == {field}:
        return answer["fields"][field]
    return f"{response.status_code} {answer}"


PERSON = ("full_name", "sex", "birth_date", "birth_partial", "id_number")
COMPLAINT = (
    "full_name",
    "birth_date",
    "birth_whole",
    "id_number",
    "phone",
    "vaccine",
    "dose_number",
    "vaccinated_on",
)
ENTRY_POINTS = {
    "inline editor": (*PERSON, "phone", "nationality"),
    "new-dose form": ("vaccine", "dose_number", "vaccinated_on"),
    "Excel import": (*PERSON, *tuple(IMPORT_COLUMN)),
    "flask records import": (*PERSON, *tuple(IMPORT_COLUMN)),
    "register extract": PERSON,
    "flask registry import": PERSON,
    "remote register": ("full_name", "sex", "birth_date", "birth_partial"),
    "complaint form": COMPLAINT,
    "API": COMPLAINT,
    "API over HTTP": COMPLAINT,
}
# Where a number can come from: a spreadsheet's cell.
SPREADSHEETS = ("Excel import", "flask records import", "register extract", "flask registry import")


def _asks(name: str, case_field: str, value) -> bool:
    if name == "API over HTTP" and case_field == "dose_number" and not value.isascii():
        return False  # a JSON integer cannot be written "²" (as a string: the type's refusal)
    return case_field in ENTRY_POINTS[name] and (isinstance(value, str) or name in SPREADSHEETS)


@pytest.mark.parametrize(
    ("case_field", "value", "rule"), CASES, ids=[f"{f}={v!r}"[:60] for f, v, _r in CASES]
)
def test_every_entry_point_gives_the_rule_s_verdict_and_message(
    app, client, area, make_person, tmp_path, case_field, value, rule
):
    """Issue 13, item 19; issue 16: the same verdict and the same Vietnamese message
    everywhere."""
    field = FIELD_OF.get(case_field, case_field)
    person = make_person(id_number="001085012345")
    stub = StubRegister().start()
    try:
        with force_locale("vi"):
            verdict = RULE_OF[case_field](value)
            assert (verdict.rule if rules.refused(verdict) else None) == rule
            expected = str(verdict) if rule else None
            asked = {
                "inline editor": lambda: _editor(person, field, value),
                "new-dose form": lambda: _dose_form(app, field, value),
                "Excel import": lambda: _import(area(OWN), field, value),
                "flask records import": lambda: _import_command(app, tmp_path, field, value),
                "register extract": lambda: _extract(field, value),
                "flask registry import": lambda: _extract_command(app, tmp_path, field, value),
                "remote register": lambda: _remote(stub, field, value),
                "complaint form": lambda: _complaint_form(app, field, value),
                "API": lambda: _api(field, value),
                "API over HTTP": lambda: _http_api(client, field, value),
            }
            said = {name: asked[name]() for name in ENTRY_POINTS if _asks(name, case_field, value)}
    finally:
        stub.stop()
    assert said, "no entry point takes this field"
    assert said == dict.fromkeys(said, expected)


def test_today_is_vietnam_s_not_the_server_s(monkeypatch):
    """Issue 13, item 19: at 23:30 UTC it is already tomorrow in Viet Nam; a dose given
    "today" there is not in the future."""
    import portal.records.rules as module

    monkeypatch.setattr(module, "today_in_vietnam", lambda: date(2021, 8, 2))
    assert rules.vaccination_date("02/08/2021") == date(2021, 8, 2)
    assert rules.refused(rules.vaccination_date("03/08/2021"))


def test_a_dose_number_of_thousands_of_digits_is_refused_not_raised():
    """Issue 15, item 5: int() refuses more than 4,300 digits with a ValueError."""
    for text in ("9" * 5000, "0" * 5000):
        verdict = rules.dose_number(text)
        assert rules.refused(verdict) and verdict.rule == "dose_number.range"
