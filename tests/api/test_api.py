"""The intake API: tokens, schema validation, idempotent retries, status, OpenAPI."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.api.models import ApiClient
from portal.api.services import create_client, token_hash
from portal.auth.models import Role
from portal.extensions import db
from portal.feedback.models import Feedback
from portal.records import rules
from tests.api.helpers import BODY
from tests.conftest import CAO_BANG, HANOI


@pytest.fixture
def token(app) -> str:
    _client, token = create_client("cong-dich-vu-cong")
    db.session.commit()
    return token


def call(client, token, body=None, key="k-1", **kw):
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    return client.post(
        "/api/v1/feedback", json=BODY if body is None else body, headers=headers, **kw
    )


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Feedback))


def test_only_the_hash_of_the_token_is_stored(token):
    stored = db.session.scalars(sa.select(ApiClient)).one()
    assert stored.token_hash == token_hash(token) and token not in stored.token_hash


def test_a_token_is_required(client, token):
    assert client.post("/api/v1/feedback", json=BODY).status_code == 401
    assert call(client, "pa_wrong").status_code == 401
    assert client.get("/api/v1/feedback/PA2222222222").status_code == 401
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_submission_returns_the_code_and_the_routing(client, token, make_user):
    make_user(Role.HEALTH_AUTHORITY, HANOI)  # someone answers for the province
    response = call(client, token)
    assert response.status_code == 201
    data = response.get_json()
    assert data["code"].startswith("PA") and data["status"] == "received"
    assert data["routing"] == {
        "precision": "commune",
        "unit_kind": "province",
        "unit_name": "Sở Y tế Thành phố Hà Nội",
    }
    status = client.get(
        f"/api/v1/feedback/{data['code']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert status.status_code == 200 and status.get_json()["code"] == data["code"]
    assert db.session.scalars(sa.select(Feedback)).one().source == "api:cong-dich-vu-cong"


def test_a_retry_with_the_same_key_is_not_duplicated(client, token):
    first = call(client, token)
    for _ in range(10):
        again = call(client, token)
        assert again.status_code == 200
        assert again.get_json()["code"] == first.get_json()["code"]
    assert count() == 1
    conflict = call(client, token, body={**BODY, "description": "Một nội dung khác hẳn."})
    assert conflict.status_code == 409
    assert count() == 1


def test_no_csrf_token_is_needed(client, token):
    # The web forms need one; bearer-token requests carry no cookie to forge.
    assert call(client, token).status_code == 201


@pytest.mark.parametrize(
    "change, field",
    [
        ({"id_number": 1085012345}, "id_number"),
        ({"birth_date": 19850314}, "birth_date"),
        ({"kind": "complaint"}, "kind"),
        ({"dose_number": "2"}, "dose_number"),
        ({"extra": 1}, "extra"),
    ],
)
def test_schema_errors_name_the_field(client, token, change, field):
    response = call(client, token, body={**BODY, **change})
    assert response.status_code == 400
    assert field in response.get_json()["fields"]


def _rule_says(verdict) -> str:
    with force_locale("vi"):
        assert rules.refused(verdict)
        return str(verdict)


@pytest.mark.parametrize(
    "change, verdict",
    [
        # Until issue 16 the schema refused these in its own words ("wrong length", "wrong
        # format", "not a date", "out of range"), and refused 14/03/1985, which every other
        # entry point accepts.
        ({"full_name": ""}, lambda: rules.full_name("")),
        ({"full_name": "x" * 201}, lambda: rules.full_name("x" * 201)),
        ({"id_number": "00108501234A"}, lambda: rules.id_number("00108501234A")),
        ({"id_number": "1" * 13}, lambda: rules.id_number("1" * 13)),
        ({"birth_date": "1985-02-30"}, lambda: rules.birth_date("1985-02-30", full=True)),
        ({"birth_date": "03/1985"}, lambda: rules.birth_date("03/1985", full=True)),
        ({"vaccinated_on": "2021-13-01"}, lambda: rules.vaccination_date("2021-13-01")),
        ({"dose_number": 0}, lambda: rules.dose_number(0)),
        ({"dose_number": 11}, lambda: rules.dose_number(11)),
        ({"vaccine": "v" * 81}, lambda: rules.vaccine("v" * 81)),
    ],
)
def test_a_value_is_judged_by_the_records_rules_in_their_words(client, token, change, verdict):
    """Issue 16: a record field's value gets the rule's verdict and Vietnamese message, as
    on the complaint form (422, by field); the schema only judges the body's shape."""
    [(field, _value)] = change.items()
    response = call(client, token, body={**BODY, **change})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {field: _rule_says(verdict())}
    assert count() == 0


@pytest.mark.parametrize(
    "change",
    [
        {"birth_date": "14/03/1985"},
        {"birth_date": "14.03.1985"},
        {"birth_date": "1985-03-14\n"},
        {"id_number": "001 085.012 345"},
        {"phone": "(+84) 912 - 345 - 678"},
        {"vaccinated_on": "01/08/2021", "dose_number": 1, "vaccine": "PFIZER"},
    ],
)
def test_a_value_the_forms_accept_the_api_accepts(client, token, change):
    """Issue 16: a date written dd/mm/yyyy or an ID number with spaces, refused by the
    schema until then, is read as the forms and the import read it."""
    response = call(client, token, body={**BODY, **change})
    assert response.status_code == 201, response.get_json()
    filed = db.session.scalars(sa.select(Feedback)).one()
    assert filed.birth_date == date(1985, 3, 14) and filed.id_number == "001085012345"


def test_one_answer_names_the_shape_s_problems_and_the_rules_verdicts(client, token):
    """A body refused for its shape still names every value the rules refuse (400)."""
    response = call(client, token, body={**BODY, "phone": "", "extra": 1, "dose_number": 0})
    assert response.status_code == 400
    with force_locale("vi"):
        assert response.get_json()["fields"] == {
            "phone": "Nhập số điện thoại của bạn.",
            "extra": "unknown field",
            "dose_number": _rule_says(rules.dose_number(0)),
        }


@pytest.mark.parametrize(
    "change, field",
    [
        ({"province_code": "99"}, "province"),
        ({"province_code": CAO_BANG}, "commune"),
    ],
)
def test_places_are_checked(client, token, change, field):
    response = call(client, token, body={**BODY, **change})
    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert count() == 0


def test_garbage_is_refused_cleanly(client, token):
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "g"}
    assert (
        client.post(
            "/api/v1/feedback", data=b"\xff{", headers=headers, content_type="application/json"
        ).status_code
        == 400
    )
    assert client.post("/api/v1/feedback", json=[1], headers=headers).status_code == 400
    no_key = client.post(
        "/api/v1/feedback", json=BODY, headers={"Authorization": f"Bearer {token}"}
    )
    assert no_key.status_code == 400


def test_another_client_cannot_read_the_status(client, token):
    code = call(client, token).get_json()["code"]
    _other, other_token = create_client("he-thong-khac")
    db.session.commit()
    response = client.get(
        f"/api/v1/feedback/{code}", headers={"Authorization": f"Bearer {other_token}"}
    )
    assert response.status_code == 404


def test_the_cli_prints_a_token_once(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", "create", "cong-quoc-gia"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    stored = db.session.scalars(sa.select(ApiClient).where(ApiClient.name == "cong-quoc-gia")).one()
    assert stored.token_hash == token_hash(token)
    again = runner.invoke(args=["api-token", "create", "cong-quoc-gia"])
    assert again.exit_code == 1


def test_nul_and_lone_surrogates_are_refused(client, token):
    for bad in ("Mô tả\x00 có NUL ở giữa", "Mô tả có \ud800 lẻ loi ở đây"):
        response = call(client, token, body={**BODY, "description": bad})
        assert response.status_code == 400
        assert "description" in response.get_json()["fields"]
