"""API clients (tokens) and idempotent submission."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Collection
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.api.models import ApiClient, IdempotencyRecord
from portal.audit import services as audit
from portal.core.clock import utcnow
from portal.core.sql import serialised
from portal.extensions import db
from portal.feedback import services as feedback_services
from portal.feedback.display import citizen_unit_name
from portal.feedback.models import Feedback, FeedbackKind
from portal.records import rules


class IdempotencyConflict(Exception):
    """The key was used before for a different body."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_LIFETIME_DAYS = 365
LAST_USE_PRECISION = timedelta(minutes=1)  # at most one write a minute per token


class TokenRefused(Exception):
    """A token command cannot be done (the message says why, in the user's language)."""


def create_client(
    name: str, actor=None, expires_in_days: int = DEFAULT_LIFETIME_DAYS
) -> tuple[ApiClient, str]:
    """A new client system and its token; the token is returned once and never stored."""
    if expires_in_days < 1:
        raise TokenRefused(_l("A token must be valid for at least one day."))
    token = "pa_" + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=expires_in_days)
    client = ApiClient(name=name, token_hash=token_hash(token), expires_at=expires_at)
    db.session.add(client)
    db.session.flush()
    audit.record(
        "api_client.create",
        "api_client",
        client.id,
        {"name": [None, name], "expires_at": [None, expires_at.isoformat()]},
        actor=actor,
    )
    return client, token


def revoke_client(name: str, actor=None) -> ApiClient:
    """The client's token stops answering at once; the client stays for its history."""
    client = db.session.scalar(sa.select(ApiClient).where(ApiClient.name == name))
    if client is None:
        raise TokenRefused(_l("No client is named %(name)s.", name=name))
    now = utcnow()
    revoked = db.session.execute(
        sa.update(ApiClient)
        .where(ApiClient.id == client.id, ApiClient.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if revoked.rowcount != 1:  # type: ignore[attr-defined]
        raise TokenRefused(_l("The token of %(name)s is already revoked.", name=name))
    db.session.refresh(client)
    audit.record(
        "api_client.revoke",
        "api_client",
        client.id,
        {"name": [None, name], "revoked_at": [None, now.isoformat()]},
        actor=actor,
    )
    return client


def clients() -> list[ApiClient]:
    return list(db.session.scalars(sa.select(ApiClient).order_by(ApiClient.name)))


def client_for(token: str) -> ApiClient | None:
    """The client of a token that still answers (not revoked, not expired), else None:
    an expired or revoked token is refused like an unknown one."""
    if not token:
        return None
    now = utcnow()
    return db.session.scalar(
        sa.select(ApiClient).where(
            ApiClient.token_hash == token_hash(token),
            ApiClient.active,
            ApiClient.revoked_at.is_(None),
            ApiClient.expires_at > now,
        )
    )


def note_use(client: ApiClient) -> bool:
    """Record the token's last use, at most once a minute (a conditional UPDATE: concurrent
    requests write it once). Whether it was written."""
    now = utcnow()
    written = db.session.execute(
        sa.update(ApiClient)
        .where(
            ApiClient.id == client.id,
            sa.or_(
                ApiClient.last_used_at.is_(None), ApiClient.last_used_at <= now - LAST_USE_PRECISION
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(written.rowcount)  # type: ignore[attr-defined]


def status_json(feedback: Feedback) -> dict[str, Any]:
    return {
        "code": feedback.code,
        "status": feedback.status.value,
        "received_at": feedback.received_at.isoformat() + "Z",
        "due_at": feedback.due_at.isoformat() + "Z",
        "answered_at": feedback.answered_at.isoformat() + "Z" if feedback.answered_at else None,
        "answer": feedback.answer,
        "answers": [
            {"text": a.text, "answered_at": a.answered_at.isoformat() + "Z"}
            for a in feedback.answers
        ],
        "routing": {
            "precision": feedback.precision.value,
            "unit_kind": feedback.unit_kind.value,
            "unit_name": citizen_unit_name(feedback),
        },
    }


# The record fields the API takes and the rule that reads each: the same as the complaint
# form's (the API wants the whole birth date, as the form does).
RECORD_FIELDS: dict[str, Callable[[Any], Any]] = {
    "full_name": rules.full_name,
    "birth_date": lambda value: rules.birth_date(value, full=True),
    "phone": rules.phone,
    "id_number": rules.id_number,
    "dose_number": rules.dose_number,
    "vaccine": rules.vaccine,
    "vaccinated_on": rules.vaccination_date,
}


def _judged(data: dict[str, Any], shapeless: Collection[str] = ()) -> tuple[dict, dict[str, str]]:
    """The record fields' values as ``records.rules`` reads them, and by field the rule's
    message for each value it refuses. A field in ``shapeless`` (the schema refused its
    shape) is not judged."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, rule in RECORD_FIELDS.items():
        if data.get(name) is None or name in shapeless:
            continue
        result = rule(data[name])
        if rules.refused(result):
            errors[name] = str(result)
        else:
            values[name] = result
    if "phone" in values and values["phone"] is None:
        errors["phone"] = str(_l("Enter your phone number."))
    description = data.get("description")
    if isinstance(description, str) and "description" not in shapeless:
        if len(description.strip()) < 10:
            errors["description"] = str(_l("Between 10 and 2000 characters."))
    return values, errors


def refusals(data: dict[str, Any], shapeless: Collection[str]) -> dict[str, str]:
    """For a body the schema refused: the rules' verdicts on its other fields, so that one
    answer names every problem."""
    return _judged(data, shapeless)[1]


def submission_from(data: dict[str, Any]) -> feedback_services.Submission:
    """A body of the schema's shape as a submission. The schema checks the JSON's shapes;
    the person and dose fields' values then follow ``records.rules``, as the complaint
    form's do, so both refuse the same values with the same message (422, by field)."""
    values, errors = _judged(data)
    if errors:
        raise feedback_services.SubmissionError(errors)
    found_id = values.get("id_number")
    return feedback_services.Submission(
        full_name=values["full_name"],
        birth_date=values["birth_date"][0],
        phone=values["phone"],
        kind=FeedbackKind(data["kind"]),
        description=data["description"],
        id_number=found_id.number if found_id else None,
        email=data.get("email"),
        province_code=data.get("province_code"),
        district_code=data.get("district_code"),
        commune_code=data.get("commune_code"),
        site_code=data.get("site_code"),
        dose_number=values.get("dose_number"),
        vaccine=values.get("vaccine"),
        vaccinated_on=values.get("vaccinated_on"),
    )


def body_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def submit(client: ApiClient, key: str, data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """File once per (client, key): a retry returns the first answer. Returns the JSON and
    whether a complaint was created now. Requests with one key are answered one after the
    other: a retry sent while the first is still running waits for it, then replays its
    answer."""
    digest = body_hash(data)
    serialised("api.idempotency", client.id, key)
    earlier = db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == client.id, IdempotencyRecord.key == key
        )
    )
    if earlier is not None:
        if earlier.request_hash != digest:
            raise IdempotencyConflict()
        return status_json(db.session.get_one(Feedback, earlier.feedback_id)), False
    feedback, created = feedback_services.submit(
        submission_from(data), source=f"api:{client.name}"[:80]
    )
    response = status_json(feedback)
    try:
        with db.session.begin_nested():
            db.session.add(
                IdempotencyRecord(
                    client_id=client.id,
                    key=key,
                    request_hash=digest,
                    feedback_id=feedback.id,
                    response=response,
                )
            )
            db.session.flush()
    except IntegrityError:
        # A concurrent retry with the same key won; its complaint is the one.
        raise IdempotencyConflict() from None
    return response, created
