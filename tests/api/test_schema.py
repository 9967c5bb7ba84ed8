"""The request body is checked against the OpenAPI document's own schema by jsonschema
(issue 16), and a refused field is named with the words clients have always been given:
one problem per field, the first of type, storable text, length, format, value. The
schema judges the body's shape; a record field's value is the records' rules' to judge."""

from __future__ import annotations

import pytest
from jsonschema import Draft4Validator

from portal.api import openapi
from tests.api.helpers import BODY

KINDS = "not one of missing_dose, wrong_dose, wrong_personal, duplicate, other"


def test_the_submission_schema_is_valid_draft_4():
    # OpenAPI 3.0's schema objects are JSON Schema draft 4's (with "nullable" added).
    Draft4Validator.check_schema(openapi.SUBMISSION)


def test_a_valid_body_has_no_problem():
    assert openapi.validate(openapi.SUBMISSION, BODY) == {}
    every_field = {
        **BODY,
        "email": "not checked beyond its length",
        "district_code": "001",
        "site_code": "S1",
        "dose_number": 10,
        "vaccine": "Pfizer",
        "vaccinated_on": "2021-08-01",
    }
    assert openapi.validate(openapi.SUBMISSION, every_field) == {}


@pytest.mark.parametrize("body", [None, [1], "text", 3, True])
def test_anything_but_an_object(body):
    assert openapi.validate(openapi.SUBMISSION, body) == {"": "a JSON object is required"}


@pytest.mark.parametrize(
    "change, problems",
    [
        ({"full_name": None}, {"full_name": "required"}),
        ({"full_name": None, "kind": None}, {"full_name": "required", "kind": "required"}),
        ({"extra": 1, "other": "x"}, {"extra": "unknown field", "other": "unknown field"}),
        ({"extra": "a\x00b"}, {"extra": "unknown field"}),
        ({"full_name": 5}, {"full_name": "must be a string"}),
        ({"full_name": "Lê\x00Cường"}, {"full_name": "contains characters that are not allowed"}),
        ({"full_name": "\ud800"}, {"full_name": "contains characters that are not allowed"}),
        # The storable text comes before the length, and the length before the pattern.
        ({"description": "\x00"}, {"description": "contains characters that are not allowed"}),
        ({"id_number": 1085012345}, {"id_number": "must be a string"}),
        ({"kind": "complaint"}, {"kind": KINDS}),
        ({"kind": ""}, {"kind": KINDS}),
        ({"dose_number": "2"}, {"dose_number": "must be an integer"}),
        ({"dose_number": 2.0}, {"dose_number": "must be an integer"}),
        ({"dose_number": True}, {"dose_number": "must be an integer"}),
        ({"province_code": "1"}, {"province_code": "wrong format"}),
        ({"email": "e" * 201}, {"email": "wrong length"}),
        # Longer than any honest value: refused for its shape before any rule reads it.
        ({"full_name": "x" * 1001}, {"full_name": "wrong length"}),
        ({"id_number": "1" * 101}, {"id_number": "wrong length"}),
        ({"birth_date": 19850314}, {"birth_date": "must be a string"}),
        ({"vaccinated_on": "2" * 101}, {"vaccinated_on": "wrong length"}),
    ],
)
def test_each_refused_field_is_named_with_its_problem(change, problems):
    body = {**BODY, **{k: v for k, v in change.items() if v is not None}}
    for name in [k for k, v in change.items() if v is None]:
        del body[name]
    assert openapi.validate(openapi.SUBMISSION, body) == problems


@pytest.mark.parametrize(
    "change",
    [
        {"full_name": ""},
        {"full_name": "x" * 201},
        {"id_number": "00108501234A"},
        {"id_number": "1" * 13},
        {"id_number": "001 085.012 345"},
        {"birth_date": "14/03/1985"},
        {"birth_date": "1985-02-30"},
        {"vaccinated_on": "2021-13-01"},
        {"phone": ""},
        {"dose_number": 0},
        {"dose_number": 11},
        {"vaccine": "v" * 81},
    ],
)
def test_a_record_field_s_value_is_left_to_the_records_rules(change):
    """Issue 16: the schema judges the body's shape only; whether a date is real, an ID
    number well formed or a dose number in range is the verdict of ``records.rules``
    (tests/api/test_api.py, tests/records/test_rules.py), in the rule's words."""
    assert openapi.validate(openapi.SUBMISSION, {**BODY, **change}) == {}
