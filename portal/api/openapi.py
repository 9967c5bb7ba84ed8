"""The OpenAPI 3.0 document of the intake API, and a validator for the subset of JSON
Schema it uses, so that what is documented is exactly what is checked."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

KINDS = ["missing_dose", "wrong_dose", "wrong_personal", "duplicate", "other"]
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

SUBMISSION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["full_name", "birth_date", "phone", "kind", "description"],
    "properties": {
        "full_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "id_number": {"type": "string", "pattern": r"^(\d{9}|\d{12})$"},
        "birth_date": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
        # The phone's and the vaccine's values follow records.rules (422 when refused).
        "phone": {"type": "string", "minLength": 1, "maxLength": 20},
        "email": {"type": "string", "format": "email", "maxLength": 200},
        "kind": {"type": "string", "enum": KINDS},
        "description": {"type": "string", "minLength": 10, "maxLength": 2000},
        "province_code": {"type": "string", "pattern": r"^\d{2}$"},
        "district_code": {"type": "string", "minLength": 1, "maxLength": 10},
        "commune_code": {"type": "string", "pattern": r"^\d{5}$"},
        "site_code": {"type": "string", "minLength": 1, "maxLength": 20},
        "dose_number": {"type": "integer", "minimum": 1, "maximum": 10},
        "vaccine": {"type": "string", "maxLength": 80},
        "vaccinated_on": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string"},
        "status": {"type": "integer"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

ROUTING = {
    "type": "object",
    "required": ["precision", "unit_kind", "unit_name"],
    "properties": {
        "precision": {"type": "string", "enum": ["site", "commune", "district", "province",
                                                 "none"]},
        "unit_kind": {"type": "string", "enum": ["site", "health_station", "district_centre",
                                                 "province", "pool"]},
        "unit_name": {"type": "string"},
    },
}

STATUS = {
    "type": "object",
    "required": ["code", "status", "received_at", "due_at", "routing"],
    "properties": {
        "code": {"type": "string"},
        "status": {"type": "string", "enum": ["received", "in_progress", "answered",
                                              "resolved", "rejected"]},
        "received_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": "string", "format": "date-time"},
        "answered_at": {"type": "string", "format": "date-time", "nullable": True,
                        "description": "the first answer's time (the 48-hour clock stops)"},
        "answer": {"type": "string", "nullable": True, "description": "the latest answer"},
        "answers": {"type": "array", "description": "every answer, oldest first",
                    "items": {"type": "object", "required": ["text", "answered_at"],
                              "properties": {
                                  "text": {"type": "string"},
                                  "answered_at": {"type": "string", "format": "date-time"}}}},
        "routing": {"$ref": "#/components/schemas/Routing"},
    },
}


def _error_responses(*codes: int) -> dict[str, Any]:
    reasons = {400: "Invalid JSON or fields", 401: "Missing or wrong bearer token",
               404: "No complaint with this code for this client",
               409: "Idempotency-Key reused with a different body",
               413: "Body too large", 422: "Place unknown or inconsistent"}
    return {str(c): {"description": reasons[c], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def document() -> dict[str, Any]:
    status_response = {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Status"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Phản ánh tiêm chủng — intake API", "version": "1.0.0",
                 "description": "Complaints about vaccination records from other systems "
                                "(the national citizen portal). Bearer token per client "
                                "system; a retried POST with the same Idempotency-Key "
                                "returns the first answer."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Submission": SUBMISSION, "Error": ERROR, "Routing": ROUTING,
                        "Status": STATUS},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/feedback": {"post": {
                "operationId": "createFeedback",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": True,
                                "schema": {"type": "string", "minLength": 1,
                                           "maxLength": 100, "pattern": r"^[\x21-\x7e]+$"}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Submission"}}}},
                "responses": {
                    "201": {"description": "Filed", **status_response},
                    "200": {"description": "Retry of an earlier request, or the same "
                                           "complaint already filed today", **status_response},
                    **_error_responses(400, 401, 409, 413, 422),
                },
            }},
            "/api/v1/feedback/{code}": {"get": {
                "operationId": "getFeedback",
                "parameters": [{"name": "code", "in": "path", "required": True,
                                "schema": {"type": "string", "maxLength": 16}}],
                "responses": {"200": {"description": "Status", **status_response},
                              **_error_responses(401, 404)},
            }},
        },
    }


def validate(schema: dict[str, Any], data: Any) -> dict[str, str]:
    """Field -> problem, for the keywords SUBMISSION uses; empty when valid."""
    if not isinstance(data, dict):
        return {"": "a JSON object is required"}
    errors: dict[str, str] = {}
    properties = schema["properties"]
    for name in schema.get("required", []):
        if name not in data:
            errors[name] = "required"
    for name, value in data.items():
        rule = properties.get(name)
        if rule is None:
            errors[name] = "unknown field"
            continue
        if rule["type"] == "string":
            if not isinstance(value, str):
                errors[name] = "must be a string"
                continue
            if "\x00" in value or not _encodable(value):
                errors[name] = "contains characters that are not allowed"
            elif len(value) < rule.get("minLength", 0) or len(value) > rule.get("maxLength", 10**6):
                errors[name] = "wrong length"
            elif "pattern" in rule and not re.search(rule["pattern"], value):
                errors[name] = "wrong format"
            elif "enum" in rule and value not in rule["enum"]:
                errors[name] = "not one of " + ", ".join(rule["enum"])
            elif rule.get("format") == "date":
                try:
                    date.fromisoformat(value)
                except ValueError:
                    errors[name] = "not a date"
        elif rule["type"] == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                errors[name] = "must be an integer"
            elif not rule["minimum"] <= value <= rule["maximum"]:
                errors[name] = "out of range"
    return errors


def _encodable(value: str) -> bool:
    """False for lone surrogates (valid in JSON escapes, not in UTF-8 text)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
