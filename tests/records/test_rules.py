"""Issue 13, item 19: one rule per field, the same verdict and message at every entry point.

Each case is a field, a value and the rule of ``records.rules`` that refuses it (None: the
value is accepted). Every entry point that takes the field is asked: the inline editor,
the new-dose form, the Excel import (and ``flask records import``, which runs it), the
register extract (and ``flask registry import``), the public complaint form and the API.
"""

from __future__ import annotations

import io
from datetime import date

import pytest
from flask_babel import force_locale
from werkzeug.datastructures import MultiDict

from portal.api.services import submission_from
from portal.feedback.forms import FeedbackForm
from portal.feedback.services import SubmissionError
from portal.imports.validation import check_file
from portal.records import corrections, rules
from portal.records.forms import DoseForm
from portal.registry.extract import parse_extract
from tests.conftest import OWN
from tests.imports.test_imports import HEADER, row, xlsx

# field, value, the rule that refuses it (None: accepted)
CASES = [
    ("full_name", "Nguyễn Văn 4n", "name.characters"),
    ("full_name", "Nguyễn  Văn   An", None),
    ("sex", "Khác", "sex.unknown"),
    ("sex", "nữ", None),
    ("birth_date", "31/02/1990", "birth.no_such_day"),
    ("birth_date", "01/01/2999", "birth.future"),
    ("birth_date", "1899-12-31", "birth.before_1900"),
    ("birth_date", "14.03.1985", None),
    ("id_number", "999085012345", "id.bad_province"),
    ("id_number", "00108501234A", "id.not_digits"),
    ("id_number", "0010850123", "id.bad_length"),
    ("id_number", "001 085.012 345", None),
    ("phone", "12345", "phone.invalid"),
    ("phone", "+84 912 345 678", None),
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
]

RULE_OF = {
    "full_name": rules.full_name,
    "sex": rules.sex,
    "birth_date": rules.birth_date,
    "id_number": rules.id_number,
    "phone": rules.phone,
    "nationality": rules.nationality,
    "vaccine": rules.vaccine,
    "dose_number": rules.dose_number,
    "vaccinated_on": rules.vaccination_date,
}
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


def _editor(person, field, value):
    form = {field: value, "reason": "Đã xem CCCD"}
    if field == "birth_date":
        form["birth_precision"] = "day"
    return corrections.parse(person, field, form).errors.get(field)


def _import(commune, field, value):
    cells = row(dose=1, vaccine="Moderna", on="01/08/2021")
    cells[HEADER.index(IMPORT_COLUMN[field])] = value
    checked = check_file(_table(xlsx([cells])), commune)
    [only] = checked.rows
    refusals = [m for m in only.errors or [] if _known(m)]
    return refusals[0] if refusals else None


def _table(data: bytes):
    from portal.imports.parser import read_table

    return read_table(data, "ds.xlsx")


def _known(message: str) -> bool:
    """A message of records.rules (not one of the import's own, such as a dose out of
    order)."""
    return not message.startswith(("Mũi", "Thiếu"))


def _extract(field, value):
    cells = {
        "id_number": "001085012345",
        "full_name": "Nguyễn Văn An",
        "sex": "Nam",
        "birth_date": "14/03/1985",
        field: value,
    }
    text = (
        "id_number,full_name,sex,birth_date\n"
        + ",".join(cells[k] for k in ("id_number", "full_name", "sex", "birth_date"))
        + "\n"
    )
    parsed = parse_extract(io.BytesIO(text.encode()), "x.csv")
    return str(parsed.errors[0].message) if parsed.errors else None


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


def _api(field, value):
    body = {
        "full_name": "Nguyễn Văn An",
        "birth_date": "1985-03-14",
        "phone": "0912345678",
        "kind": "missing_dose",
        "description": "Mũi 2 của tôi không có trên hệ thống.",
        field: int(value) if field == "dose_number" and value.isascii() else value,
    }
    try:
        submission_from(body)
    except SubmissionError as error:
        return error.errors.get(field)
    return None


ENTRY_POINTS = {
    "inline editor": ("full_name", "sex", "birth_date", "id_number", "phone", "nationality"),
    "new-dose form": ("vaccine", "dose_number", "vaccinated_on"),
    "Excel import": tuple(IMPORT_COLUMN),
    "register extract": ("full_name", "sex", "birth_date", "id_number"),
    "complaint form": (
        "full_name",
        "birth_date",
        "id_number",
        "phone",
        "vaccine",
        "dose_number",
        "vaccinated_on",
    ),
    "API": (
        "full_name",
        "birth_date",
        "id_number",
        "phone",
        "vaccine",
        "dose_number",
        "vaccinated_on",
    ),
}


@pytest.mark.parametrize(
    ("field", "value", "rule"), CASES, ids=[f"{f}={v!r}" for f, v, _r in CASES]
)
def test_every_entry_point_gives_the_rule_s_verdict_and_message(
    app, area, make_person, field, value, rule
):
    """Issue 13, item 19: the same verdict and the same Vietnamese message everywhere."""
    person = make_person(id_number="001085012345")
    with force_locale("vi"):
        verdict = RULE_OF[field](value)
        assert (verdict.rule if rules.refused(verdict) else None) == rule
        expected = str(verdict) if rule else None
        asked = {
            "inline editor": lambda: _editor(person, field, value),
            "new-dose form": lambda: _dose_form(app, field, value),
            "Excel import": lambda: _import(area(OWN), field, value),
            "register extract": lambda: _extract(field, value),
            "complaint form": lambda: _complaint_form(app, field, value),
            "API": lambda: _api(field, value),
        }
        said = {name: asked[name]() for name, fields in ENTRY_POINTS.items() if field in fields}
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
