"""API clients (tokens) and idempotent submission."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.api.models import ApiClient, IdempotencyRecord
from portal.audit import services as audit
from portal.extensions import db
from portal.feedback import services as feedback_services
from portal.feedback.display import citizen_unit_name
from portal.feedback.models import Feedback, FeedbackKind
from portal.records import rules


class IdempotencyConflict(Exception):
    """The key was used before for a different body."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(name: str, actor=None) -> tuple[ApiClient, str]:
    """A new client system and its token; the token is returned once and never stored."""
    token = "pa_" + secrets.token_urlsafe(32)
    client = ApiClient(name=name, token_hash=token_hash(token))
    db.session.add(client)
    db.session.flush()
    audit.record("api_client.create", "api_client", client.id, {"name": [None, name]},
                 actor=actor)
    return client, token


def client_for(token: str) -> ApiClient | None:
    if not token:
        return None
    return db.session.scalar(sa.select(ApiClient).where(
        ApiClient.token_hash == token_hash(token), ApiClient.active))


def status_json(feedback: Feedback) -> dict[str, Any]:
    return {
        "code": feedback.code,
        "status": feedback.status.value,
        "received_at": feedback.received_at.isoformat() + "Z",
        "due_at": feedback.due_at.isoformat() + "Z",
        "answered_at": feedback.answered_at.isoformat() + "Z" if feedback.answered_at else None,
        "answer": feedback.answer,
        "answers": [{"text": a.text, "answered_at": a.answered_at.isoformat() + "Z"}
                    for a in feedback.answers],
        "routing": {
            "precision": feedback.precision.value,
            "unit_kind": feedback.unit_kind.value,
            "unit_name": citizen_unit_name(feedback),
        },
    }


def submission_from(data: dict[str, Any]) -> feedback_services.Submission:
    """A schema-valid body as a submission. The schema checks the JSON's shapes; the
    person and dose fields then follow ``records.rules``, as the complaint form's do, so
    both refuse the same values with the same message (422, by field)."""
    errors: dict[str, str] = {}

    def follow(name: str, rule, value: Any) -> Any:
        if value is None:
            return None
        result = rule(value)
        if rules.refused(result):
            errors[name] = str(result)
            return None
        return result

    full_name = follow("full_name", rules.full_name, data["full_name"])
    birth = follow("birth_date", lambda v: rules.birth_date(v, full=True), data["birth_date"])
    phone = follow("phone", rules.phone, data["phone"])
    found_id = follow("id_number", rules.id_number, data.get("id_number"))
    dose_number = follow("dose_number", rules.dose_number, data.get("dose_number"))
    vaccine = follow("vaccine", rules.vaccine, data.get("vaccine"))
    vaccinated_on = follow("vaccinated_on", rules.vaccination_date, data.get("vaccinated_on"))
    if phone is None and "phone" not in errors:
        errors["phone"] = str(_l("Enter your phone number."))
    if len(data["description"].strip()) < 10:
        errors["description"] = str(_l("Between 10 and 2000 characters."))
    if errors:
        raise feedback_services.SubmissionError(errors)
    return feedback_services.Submission(
        full_name=full_name, birth_date=birth[0], phone=phone,
        kind=FeedbackKind(data["kind"]), description=data["description"],
        id_number=found_id.number if found_id else None, email=data.get("email"),
        province_code=data.get("province_code"), district_code=data.get("district_code"),
        commune_code=data.get("commune_code"), site_code=data.get("site_code"),
        dose_number=dose_number, vaccine=vaccine, vaccinated_on=vaccinated_on)


def body_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


def submit(client: ApiClient, key: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """File once per (client, key): a retry returns the first answer. Returns the JSON and
    whether a complaint was created now."""
    digest = body_hash(data)
    earlier = db.session.scalar(sa.select(IdempotencyRecord).where(
        IdempotencyRecord.client_id == client.id, IdempotencyRecord.key == key))
    if earlier is not None:
        if earlier.request_hash != digest:
            raise IdempotencyConflict()
        return status_json(db.session.get_one(Feedback, earlier.feedback_id)), False
    feedback, created = feedback_services.submit(submission_from(data),
                                                 source=f"api:{client.name}"[:80])
    response = status_json(feedback)
    try:
        with db.session.begin_nested():
            db.session.add(IdempotencyRecord(client_id=client.id, key=key,
                                             request_hash=digest, feedback_id=feedback.id,
                                             response=response))
            db.session.flush()
    except IntegrityError:
        # A concurrent retry with the same key won; its complaint is the one.
        raise IdempotencyConflict() from None
    return response, created
