"""The OpenAPI 3.0 document of the intake API, and the check of a request body against its
schema there (by jsonschema), so that what is documented is exactly what is checked."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft4Validator

KINDS = ["missing_dose", "wrong_dose", "wrong_personal", "duplicate", "other"]
# The schema checks the body's shape: an object, its keys, each value's JSON type and a
# length no honest value reaches. Whether a person's or a dose's value is right (a real
# date, an ID number's structure, a phone number, a known vaccine, a dose from 1 to 10) is
# the verdict of records.rules, as at every other entry point: 422, with the rule's message.
VALUE_MAX = 100  # an ID number, a phone number, a date or a vaccine, however it is spaced
NAME_MAX = 1000  # the rule refuses a full name over 200 characters, in its own words
RULES = "Judged by the records' rules (422 with the rule's message when refused)."

SUBMISSION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["full_name", "birth_date", "phone", "kind", "description"],
    "properties": {
        "full_name": {
            "type": "string",
            "maxLength": NAME_MAX,
            "description": "Letters (any script), spaces, dots, dashes and apostrophes; at "
            "most 200 characters. " + RULES,
        },
        "id_number": {
            "type": "string",
            "maxLength": VALUE_MAX,
            "description": "CCCD (12 digits, beginning with a birth-province code) or CMND "
            "(9 digits); spaces, dots and dashes between the digits are removed. " + RULES,
        },
        "birth_date": {
            "type": "string",
            "maxLength": VALUE_MAX,
            "description": "The whole date, dd/mm/yyyy or yyyy-mm-dd ('/', '-' or '.' "
            "between), from 1900 to today (Viet Nam's). " + RULES,
        },
        "phone": {
            "type": "string",
            "maxLength": VALUE_MAX,
            "description": "0 and 9 or 10 digits, or + and the country code (+84 is read as "
            "0); spaces, dots, dashes and brackets are removed. " + RULES,
        },
        "email": {"type": "string", "format": "email", "maxLength": 200},
        "kind": {"type": "string", "enum": KINDS},
        "description": {"type": "string", "minLength": 10, "maxLength": 2000},
        "province_code": {"type": "string", "pattern": r"^\d{2}$"},
        "district_code": {"type": "string", "minLength": 1, "maxLength": 10},
        "commune_code": {"type": "string", "pattern": r"^\d{5}$"},
        "site_code": {"type": "string", "minLength": 1, "maxLength": 20},
        "dose_number": {
            "type": "integer",
            "description": "From 1 to 10. " + RULES,
        },
        "vaccine": {
            "type": "string",
            "maxLength": VALUE_MAX,
            "description": "A vaccine of the portal's reference table: its code, its name or "
            "a common spelling (case and diacritics ignored). " + RULES,
        },
        "vaccinated_on": {
            "type": "string",
            "maxLength": VALUE_MAX,
            "description": "dd/mm/yyyy or yyyy-mm-dd ('/', '-' or '.' between), from "
            "08/03/2021 (the first dose given in Viet Nam) to today. " + RULES,
        },
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
        400: "Invalid JSON, or a body not of the schema's shape (with the records' rules' "
        "verdicts on the other fields)",
        401: "Missing or wrong bearer token",
        404: "No complaint with this code for this client",
        409: "Idempotency-Key reused with a different body",
        413: "Body too large",
        422: "A value refused by the records' rules (by field, with the rule's message), or "
        "a place unknown or inconsistent",
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
# added. No format is asserted: "email" is documented, never refused, and a date is the
# records' rules' to read.

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
    "minimum",
    "maximum",
)


def validate(schema: dict[str, Any], data: Any) -> dict[str, str]:
    """Field -> problem of the body's shape, in the words the API has answered with since
    it opened; empty when ``data`` is of the schema. (A record field's value is judged
    after, by ``records.rules``: ``api.services.refusals``.)"""
    validator = Draft4Validator(schema)
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
