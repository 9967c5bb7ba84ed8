"""``/api/v1``: complaints from other systems. JSON in and out, bearer token per client
system, CSRF-exempt (no cookies are used)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, jsonify, request

from portal.api import openapi
from portal.api import services as api_services
from portal.core.database import writes
from portal.extensions import db
from portal.feedback import services as feedback_services
from portal.feedback.models import Feedback


def _error(status: int, message: str, fields: dict[str, str] | None = None):
    body: dict = {"error": message, "status": status}
    if fields:
        body["fields"] = fields
    return jsonify(body), status


def authenticate():
    if request.endpoint == "api.show_openapi":
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    client = api_services.client_for(token.strip()) if scheme.lower() == "bearer" else None
    if client is None:
        response = _error(401, "a valid bearer token is required")
        response[0].headers["WWW-Authenticate"] = 'Bearer realm="portal"'
        return response
    if api_services.note_use(client):
        # Its own small transaction: the last use is kept whatever the request answers.
        db.session.commit()
    g.api_client = client
    return None


def show_openapi():
    return jsonify(openapi.document())


def create_feedback():
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 100 or not key.isascii() or not key.isprintable():
        return _error(400, "an Idempotency-Key header (1-100 visible ASCII characters) is required")
    data = request.get_json(silent=True)
    errors = openapi.validate(openapi.SUBMISSION, data)
    if errors:
        if isinstance(data, dict):
            errors = {**api_services.refusals(data, shapeless=errors), **errors}
        return _error(400, "the body does not match the schema", errors)
    assert isinstance(data, dict)
    try:
        response, created = api_services.submit(g.api_client, key, data)
    except api_services.IdempotencyConflict:
        db.session.rollback()
        return _error(409, "this Idempotency-Key was used for a different request")
    except feedback_services.SubmissionError as error:
        db.session.rollback()
        return _error(422, "the complaint cannot be accepted", error.errors)
    db.session.commit()
    return jsonify(response), 201 if created else 200


@writes  # the client's last use (SQLite: BEGIN IMMEDIATE)
def show_feedback(code: str):
    feedback = db.session.scalar(
        sa.select(Feedback).where(
            Feedback.code == code.strip().upper()[:16],
            Feedback.source == f"api:{g.api_client.name}"[:80],
        )
    )
    if feedback is None:
        return _error(404, "no complaint with this code was filed by this client")
    return jsonify(api_services.status_json(feedback))
