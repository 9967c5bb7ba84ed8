"""The OpenAPI 3.0 document of the intake API, and the check of a request body against its
schema there (by jsonschema), so that what is documented is exactly what is checked."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft4Validator, FormatChecker

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
        "precision": {
            "type": "string",
            "enum": ["site", "commune", "district", "province", "none"],
        },
        "unit_kind": {
            "type": "string",
            "enum": ["site", "health_station", "district_centre", "province", "pool"],
        },
        "unit_name": {"type": "string"},
    },
}

STATUS = {
    "type": "object",
    "required": ["code", "status", "received_at", "due_at", "routing"],
    "properties": {
        "code": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["received", "in_progress", "answered", "resolved", "rejected"],
        },
        "received_at": {"type": "string", "format": "date-time"},
        "due_at": {"type": "string", "format": "date-time"},
        "answered_at": {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "the first answer's time (the 48-hour clock stops)",
        },
        "answer": {"type": "string", "nullable": True, "description": "the latest answer"},
        "answers": {
            "type": "array",
            "description": "every answer, oldest first",
            "items": {
                "type": "object",
                "required": ["text", "answered_at"],
                "properties": {
                    "text": {"type": "string"},
                    "answered_at": {"type": "string", "format": "date-time"},
                },
            },
        },
        "routing": {"$ref": "#/components/schemas/Routing"},
    },
}


def _error_responses(*codes: int) -> dict[str, Any]:
    reasons = {
        400: "Invalid JSON or fields",
        401: "Missing or wrong bearer token",
        404: "No complaint with this code for this client",
        409: "Idempotency-Key reused with a different body",
        413: "Body too large",
        422: "Place unknown or inconsistent",
    }
    return {
        str(c): {
            "description": reasons[c],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for c in codes
    }


def document() -> dict[str, Any]:
    status_response = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Phản ánh tiêm chủng — intake API",
            "version": "1.0.0",
            "description": "Complaints about vaccination records from other systems "
            "(the national citizen portal). Bearer token per client "
            "system; a retried POST with the same Idempotency-Key "
            "returns the first answer.",
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Submission": SUBMISSION,
                "Error": ERROR,
                "Routing": ROUTING,
                "Status": STATUS,
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/api/v1/feedback": {
                "post": {
                    "operationId": "createFeedback",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": True,
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 100,
                                "pattern": r"^[\x21-\x7e]+$",
                            },
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Submission"}
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "Filed", **status_response},
                        "200": {
                            "description": "Retry of an earlier request, or the same "
                            "complaint already filed today",
                            **status_response,
                        },
                        **_error_responses(400, 401, 409, 413, 422),
                    },
                }
            },
            "/api/v1/feedback/{code}": {
                "get": {
                    "operationId": "getFeedback",
                    "parameters": [
                        {
                            "name": "code",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "maxLength": 16},
                        }
                    ],
                    "responses": {
                        "200": {"description": "Status", **status_response},
                        **_error_responses(401, 404),
                    },
                }
            },
        },
    }


# OpenAPI 3.0's schema objects are JSON Schema draft 4's ("wright-00"), with "nullable"
# added. Of the formats only "date" is asserted: "email" is documented, never refused.
FORMATS = FormatChecker(formats=["date"])
# One problem per field, the first that applies, in this order. "storable" is no JSON Schema
# keyword: a text must have no NUL (PostgreSQL cannot store it) and no lone surrogate
# (valid in a JSON escape, not in UTF-8).
PRECEDENCE = (
    "type",
    "storable",
    "minLength",
    "maxLength",
    "pattern",
    "enum",
    "format",
    "minimum",
    "maximum",
)


def validate(schema: dict[str, Any], data: Any) -> dict[str, str]:
    """Field -> problem, in the words the API has answered with since it opened; empty
    when ``data`` is valid."""
    validator = Draft4Validator(schema, format_checker=FORMATS)
    if not validator.is_type(data, "object"):
        return {"": "a JSON object is required"}
    properties = schema["properties"]
    errors: dict[str, str] = {}
    failed: dict[str, set[str]] = {}
    for error in validator.iter_errors(data):
        if error.path:  # a keyword of the property's own schema
            failed.setdefault(str(error.path[0]), set()).add(str(error.validator))
        elif error.validator == "required":
            errors.update({name: "required" for name in schema["required"] if name not in data})
        elif error.validator == "additionalProperties":
            errors.update({name: "unknown field" for name in data if name not in properties})
    for name, value in data.items():
        if name in properties and isinstance(value, str) and not _storable(value):
            failed.setdefault(name, set()).add("storable")
    for name, keywords in failed.items():
        keyword = next(k for k in PRECEDENCE if k in keywords)
        errors[name] = _problem(keyword, properties[name])
    return errors


def _problem(keyword: str, rule: dict[str, Any]) -> str:
    if keyword == "type":
        return f"must be {'an integer' if rule['type'] == 'integer' else 'a string'}"
    if keyword == "enum":
        return "not one of " + ", ".join(rule["enum"])
    return {
        "storable": "contains characters that are not allowed",
        "minLength": "wrong length",
        "maxLength": "wrong length",
        "pattern": "wrong format",
        "format": "not a date",
        "minimum": "out of range",
        "maximum": "out of range",
    }[keyword]


def _storable(value: str) -> bool:
    """False for NUL and for lone surrogates."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
