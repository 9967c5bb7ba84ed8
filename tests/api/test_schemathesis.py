"""Schemathesis generates requests from the OpenAPI document and checks every answer
against it (no 500, documented status codes and content types, bodies matching their
schemas, no access without the token). Small and deterministic: a fixed number of
examples per operation, derandomised.

The operations are driven with plain hypothesis ``@given`` inside the test (schemathesis'
own pytest loader does not run under this pytest version)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi import checks

from portal.api.services import create_client
from portal.extensions import db


@pytest.fixture
def bearer(app) -> dict[str, str]:
    _client, token = create_client("schemathesis")
    db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "path, method", [("/api/v1/feedback", "POST"), ("/api/v1/feedback/{code}", "GET")]
)
def test_the_api_keeps_its_contract(app, bearer, path, method):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    calls = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=20,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        # A schema-valid body may still name a place that does not exist: 422 by design.
        response = case.call_and_validate(
            headers=bearer, excluded_checks=[checks.positive_data_acceptance]
        )
        calls.append(response.status_code)

    check()
    assert calls and all(code < 500 for code in calls)
