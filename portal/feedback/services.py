"""The writes of the complaints domain. Each flushes and records its audit event; the
route, the API, the CLI or the job commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, cast

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached

from portal.areas.models import Area, AreaKind, Site
from portal.areas.scope import areas_within
from portal.audit import services as audit
from portal.auth.models import User
from portal.core.clock import utcnow
from portal.core.sql import locked
from portal.core.text import collation_key, fold
from portal.core.throttle import growing_wait
from portal.extensions import db
from portal.feedback import clock
from portal.feedback.display import named
from portal.feedback.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Answer,
    Attachment,
    Escalation,
    FailureCount,
    Feedback,
    FeedbackKind,
    FeedbackStatus,
    Notification,
    NotificationState,
    RateHit,
    UnitKind,
)
from portal.feedback.notify import adapter_for
from portal.feedback.routing import (
    NO_ACCOUNT,
    Decision,
    Place,
    Unit,
    route,
    staffed,
    units_above,
)
from portal.records import rules
from portal.records.models import Person

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
CODE_PREFIX = "PA"
EPOCH = datetime(1970, 1, 1)
CODE_LENGTH = 10  # 50 random bits: nobody finds a complaint by guessing

ATTACHMENT_TYPES = {
    # sniffed signature -> (content type, extensions the file name may carry)
    b"\xff\xd8\xff": ("image/jpeg", (".jpg", ".jpeg")),
    b"\x89PNG\r\n\x1a\n": ("image/png", (".png",)),
    b"%PDF-": ("application/pdf", (".pdf",)),
}


class SubmissionError(ValueError):
    """Input that cannot be accepted; ``errors`` maps a field to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Submission:
    full_name: str
    birth_date: date
    phone: str
    kind: FeedbackKind
    description: str
    id_number: str | None = None
    email: str | None = None
    province_code: str | None = None
    district_code: str | None = None
    commune_code: str | None = None
    site_code: str | None = None
    dose_number: int | None = None
    vaccine: str | None = None
    vaccinated_on: date | None = None
    attachment_name: str | None = None
    attachment_data: bytes | None = field(default=None, repr=False)


# --- input checks shared by the web form and the API -------------------------------------


def normalise_phone(raw: str) -> str | None:
    """The phone number as ``records.rules.phone`` stores it; None if it is not one."""
    value = rules.phone(raw)
    return None if rules.refused(value) else value


def sniff_attachment(name: str, data: bytes) -> str:
    """The content type of a JPEG, PNG or PDF whose bytes and name agree; else an error."""
    limit = current_app.config["FEEDBACK_ATTACHMENT_MAX_BYTES"]
    if len(data) > limit:
        raise SubmissionError(
            {
                "attachment": str(
                    _l("The file is too large (at most %(mb)s MB).", mb=limit // (1024 * 1024))
                )
            }
        )
    if not data:
        raise SubmissionError({"attachment": str(_l("The file is empty."))})
    lowered = name.lower()
    for signature, (content_type, extensions) in ATTACHMENT_TYPES.items():
        if data.startswith(signature):
            if not lowered.endswith(extensions):
                break
            return content_type
    raise SubmissionError(
        {
            "attachment": str(
                _l("Only a photo (JPEG, PNG) or a PDF scan can be attached; this file is not one.")
            )
        }
    )


AREAS_BY_CODE = sa.select(Area).where(Area.code.in_(sa.bindparam("codes", expanding=True)))


def resolve_place(sub: Submission) -> Place:
    """The named places, checked to exist and to belong together."""
    errors: dict[str, str] = {}

    # The named areas in one query (the public form's every round trip counts).
    codes = [c for c in (sub.province_code, sub.district_code, sub.commune_code) if c]
    named = (
        {(a.code, a.kind): a for a in db.session.scalars(AREAS_BY_CODE, {"codes": codes})}
        if codes
        else {}
    )

    def area(code: str | None, kind: AreaKind, field_name: str) -> Area | None:
        if not code:
            return None
        found = named.get((code, kind))
        if found is None:
            errors[field_name] = str(_l("This place does not exist."))
        return found

    province = area(sub.province_code, AreaKind.PROVINCE, "province")
    district = area(sub.district_code, AreaKind.DISTRICT, "district")
    commune = area(sub.commune_code, AreaKind.COMMUNE, "commune")
    site = None
    if sub.site_code:
        site = db.session.scalar(sa.select(Site).where(Site.code == sub.site_code, Site.active))
        if site is None:
            errors["site"] = str(_l("This vaccination site does not exist."))
    if province is None and not errors.get("province") and (district or commune or site):
        errors["province"] = str(_l("Choose the province first."))
    if province is not None:
        if district is not None and district.province_id != province.id:
            errors["district"] = str(_l("This district is not in the chosen province."))
        if commune is not None and commune.province_id != province.id:
            errors["commune"] = str(_l("This commune is not in the chosen province."))
        if site is not None and site.commune.province_id != province.id:
            errors["site"] = str(_l("This vaccination site is not in the chosen province."))
    if commune is not None and site is not None and site.commune_id != commune.id:
        errors["site"] = str(_l("This vaccination site is not in the chosen commune."))
    if errors:
        raise SubmissionError(errors)
    has_dose = sub.dose_number is not None and sub.vaccinated_on is not None
    return Place(province, district, commune, site, has_dose)


def fingerprint(sub: Submission, received_on: date) -> str:
    """The same complaint sent again the same day is recognised as the one already filed."""
    parts = [
        sub.id_number or "",
        sub.phone,
        sub.birth_date.isoformat(),
        sub.kind.value,
        fold(sub.full_name),
        fold(" ".join(sub.description.split())),
        received_on.isoformat(),
        sub.province_code or "",
        sub.district_code or "",
        sub.commune_code or "",
        sub.site_code or "",
        str(sub.dose_number or ""),
        sub.vaccinated_on.isoformat() if sub.vaccinated_on else "",
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def new_code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def by_code(code: str) -> Feedback | None:
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    return db.session.scalar(sa.select(Feedback).where(Feedback.code == code))


@dataclass
class Prepared:
    """A checked and routed submission, ready to be written (plain values, no ORM rows)."""

    sub: Submission
    fingerprint: str
    content_type: str | None
    decision: Decision
    province_id: int | None
    district_id: int | None
    commune_id: int | None
    site_id: int | None


def prepare(sub: Submission) -> Prepared:
    """Check and route a submission; only reads. ``SubmissionError`` says what is wrong."""
    place = resolve_place(sub)
    content_type = (
        sniff_attachment(sub.attachment_name or "", sub.attachment_data)
        if sub.attachment_data is not None
        else None
    )
    decision = route(place)
    commune = place.commune or (place.site.commune if place.site else None)
    return Prepared(
        sub=sub,
        fingerprint=fingerprint(sub, utcnow().date()),
        content_type=content_type,
        decision=decision,
        province_id=(
            place.province.id if place.province else commune.province_id if commune else None
        ),
        district_id=place.district.id if place.district else None,
        commune_id=commune.id if commune else None,
        site_id=place.site.id if place.site else None,
    )


def file(prepared: Prepared, source: str = "web", actor=None) -> tuple[Feedback, bool]:
    """Write a prepared complaint and its routing decision. Returns it and whether it is
    new (False: the same submission was already filed today, and that one is returned)."""
    sub, decision, print_ = prepared.sub, prepared.decision, prepared.fingerprint
    now = utcnow()
    values = dict(
        code=new_code(),
        fingerprint=print_,
        kind=sub.kind,
        status=FeedbackStatus.RECEIVED,
        full_name=sub.full_name.strip(),
        id_number=sub.id_number or None,
        birth_date=sub.birth_date,
        phone=sub.phone,
        email=sub.email or None,
        description=sub.description.strip(),
        province_id=prepared.province_id,
        district_id=prepared.district_id,
        commune_id=prepared.commune_id,
        site_id=prepared.site_id,
        dose_number=sub.dose_number,
        vaccine=sub.vaccine or None,
        vaccinated_on=sub.vaccinated_on,
        precision=decision.precision,
        unit_kind=decision.unit.kind,
        unit_area_id=decision.unit.area_id,
        unit_site_id=decision.unit.site_id,
        unit_key=decision.unit.key,
        routing_rule_id=decision.rule_id,
        routing_note=decision.note,
        source=source,
        received_at=now,
        due_at=clock.due_for(now),
    )
    # One statement: a replay (or a concurrent identical submission) meets the unique
    # fingerprint and inserts nothing, without a look-up first or a savepoint.
    row = db.session.execute(_upserts().new_feedback, values).one_or_none()
    if row is None:
        return db.session.scalars(
            sa.select(Feedback).where(Feedback.fingerprint == print_)
        ).one(), False
    # The complaint as the session would hold it had it inserted it (without its unit of
    # work, which costs more than the insert): persistent, every column loaded.
    feedback = Feedback(**row._mapping)
    make_transient_to_detached(feedback)
    db.session.add(feedback)
    content_type = prepared.content_type
    if content_type is not None and sub.attachment_data is not None:
        db.session.add(
            Attachment(
                feedback_id=feedback.id,
                filename=(sub.attachment_name or "")[-200:],
                content_type=content_type,
                size=len(sub.attachment_data),
                sha256=hashlib.sha256(sub.attachment_data).hexdigest(),
                data=sub.attachment_data,
            )
        )
        db.session.flush()
    audit.record_all(
        [
            audit.Entry(
                "feedback.create",
                "feedback",
                feedback.code,
                {
                    "kind": [None, feedback.kind],
                    "source": [None, source],
                    "attachment": [None, content_type],
                },
            ),
            audit.Entry(
                "feedback.route",
                "feedback",
                feedback.code,
                {
                    "precision": [None, decision.precision],
                    "unit_kind": [None, decision.unit.kind],
                    "unit_area_id": [None, decision.unit.area_id],
                    "unit_site_id": [None, decision.unit.site_id],
                    "rule_id": [None, decision.rule_id],
                    "fallback": [None, decision.note or None],
                },
            ),
        ],
        actor=actor,
    )
    return feedback, True


def submit(sub: Submission, source: str = "web", actor=None) -> tuple[Feedback, bool]:
    """Check, route and file a complaint in the caller's transaction."""
    return file(prepare(sub), source, actor)


# --- the status page ---------------------------------------------------------------------


def verify_citizen(feedback: Feedback | None, phone: str | None, birth: date | None) -> bool:
    """The phone number or the date of birth given with the code, or both, and then both
    must match; constant-time compare."""
    if feedback is None:
        # Same work as a real comparison, so timing does not tell a code exists; bytes, as
        # there: compare_digest refuses a str with a character outside ASCII (a 500).
        secrets.compare_digest(b"0000000000", (normalise_phone(phone or "") or "").encode())
        return False
    if not phone and birth is None:
        return False
    phone_matches = not phone or secrets.compare_digest(
        feedback.phone.encode(), (normalise_phone(phone) or "").encode()
    )
    return phone_matches and (birth is None or birth == feedback.birth_date)


# --- rate limiting -----------------------------------------------------------------------


def hit(key: str, limit: int, window: timedelta, now: datetime | None = None) -> bool:
    """Count one request of ``key`` in the current window; False once over ``limit``.

    One upsert, so two workers count together; the caller commits it on its own, so a
    refused or failed request still counts.
    """
    count = db.session.execute(
        _upserts().rate_hit, {"key": key[:120], "window_start": window_start(window, now)}
    ).scalar_one()
    return count <= limit


def window_start(window: timedelta, now: datetime | None = None) -> datetime:
    """The start of the fixed window ``now`` falls in (a refusal's Retry-After is its end)."""
    now = now or utcnow()
    seconds = int(window.total_seconds())
    since_epoch = int((now - EPOCH).total_seconds())
    return EPOCH + timedelta(seconds=since_epoch // seconds * seconds)


FEEDBACK = cast(sa.Table, Feedback.__table__)
RATE_HIT = cast(sa.Table, RateHit.__table__)
ESCALATION = cast(sa.Table, Escalation.__table__)


@dataclass(frozen=True)
class Upserts:
    new_feedback: Any  # INSERT … ON CONFLICT (fingerprint) DO NOTHING RETURNING its row
    rate_hit: Any  # count one request: INSERT … ON CONFLICT DO UPDATE count + 1 RETURNING it


@cache
def _upserts_for(dialect: str) -> Upserts:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return Upserts(
        new_feedback=insert(FEEDBACK)
        .on_conflict_do_nothing(index_elements=["fingerprint"])
        .returning(*FEEDBACK.c),
        rate_hit=insert(RATE_HIT)
        .values(count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": RATE_HIT.c.count + 1}
        )
        .returning(RATE_HIT.c.count),
    )


def _upserts() -> Upserts:
    """The public form's two upserts in the database's dialect, built once (building one
    with its values costs as much as running it), on Core tables."""
    return _upserts_for(db.engine.dialect.name)


def purge_rate_hits(before: datetime) -> int:
    result = db.session.execute(sa.delete(RateHit).where(RateHit.window_start < before))
    return int(getattr(result, "rowcount", 0) or 0)


FAILURE_COUNT = cast(sa.Table, FailureCount.__table__)


def count_failure(key: str, window: timedelta, now: datetime | None = None) -> int:
    """One more wrong answer for ``key``; a count whose last failure is older than
    ``window`` starts again. One upsert, so concurrent workers each add theirs; the caller
    commits it, so that a refused answer counts. The new count."""
    now = now or utcnow()
    insert = postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert
    counted = insert(FAILURE_COUNT).values(key=key[:120], failures=1, last_failure_at=now)
    counted = counted.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": sa.case(
                (FAILURE_COUNT.c.last_failure_at < now - window, 1),
                else_=FAILURE_COUNT.c.failures + 1,
            ),
            "last_failure_at": now,
        },
    )
    return int(db.session.execute(counted.returning(FAILURE_COUNT.c.failures)).scalar_one())


def status_code_key(code: str) -> str:
    return f"status-code:{code}"


def status_code_wait(code: str, now: datetime | None = None) -> timedelta:
    """How long a look-up of ``code`` with one detail (the phone or the date of birth)
    must wait, from the wrong answers for that code from every address (issue 14, item
    10): the growing wait of the login throttle. The same for a code that does not exist,
    so the wait tells nothing."""
    config = current_app.config
    now = now or utcnow()
    window = timedelta(days=config["FEEDBACK_STATUS_CODE_WINDOW_DAYS"])
    row = db.session.execute(
        sa.select(FailureCount.failures, FailureCount.last_failure_at).where(
            FailureCount.key == status_code_key(code)[:120],
            FailureCount.last_failure_at >= now - window,
        )
    ).first()
    if row is None:
        return timedelta(0)
    return growing_wait(
        row.failures,
        row.last_failure_at,
        now,
        free=config["FEEDBACK_STATUS_CODE_MAX_WRONG"],
        first_delay_minutes=config["FEEDBACK_STATUS_CODE_FIRST_DELAY_MINUTES"],
        max_delay_minutes=config["FEEDBACK_STATUS_CODE_MAX_DELAY_MINUTES"],
    )


def count_wrong_answer(code: str) -> int:
    window = timedelta(days=current_app.config["FEEDBACK_STATUS_CODE_WINDOW_DAYS"])
    return count_failure(status_code_key(code), window)


def purge_failure_counts(before: datetime) -> int:
    result = db.session.execute(
        sa.delete(FailureCount).where(FailureCount.last_failure_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- handling ----------------------------------------------------------------------------


def _start(feedback: Feedback) -> None:
    if feedback.status == FeedbackStatus.RECEIVED:
        feedback.status = FeedbackStatus.IN_PROGRESS


def link_person(feedback: Feedback, person: Person | None, actor: User) -> None:
    old = feedback.person_id
    feedback.person_id = person.id if person is not None else None
    _start(feedback)
    db.session.flush()
    audit.record(
        "feedback.link",
        "feedback",
        feedback.code,
        {"person_id": [old, feedback.person_id]},
        actor=actor,
    )


def _notify(feedback: Feedback, body: str) -> None:
    """Into the outbox, in this transaction: sent only if the answer is committed."""
    db.session.add(
        Notification(feedback_id=feedback.id, channel="sms", recipient=feedback.phone, body=body)
    )
    if feedback.email:
        db.session.add(
            Notification(
                feedback_id=feedback.id, channel="email", recipient=feedback.email, body=body
            )
        )


def notification_text(feedback: Feedback) -> str:
    # Sent to the citizen, so always in Vietnamese, whatever the staff member's language.
    return (
        f"Phản ánh {feedback.code} đã được trả lời. Xem trả lời tại trang tra cứu "
        f"với mã phản ánh và số điện thoại hoặc ngày sinh của bạn."
    )


def _add_answer(feedback: Feedback, text: str, actor: User | None, at: datetime) -> Answer:
    """A new answer beside the earlier ones, with its own time; the first stops the clock."""
    added = Answer(
        feedback_id=feedback.id,
        text=text.strip(),
        answered_at=at,
        author_id=actor.id if actor is not None else None,
    )
    feedback.answers.append(added)
    if feedback.answered_at is None:
        feedback.answered_at = at
    return added


class AlreadyAnswered(ValueError):
    """This answer was sent already (a second submit of the form)."""


def answer(feedback: Feedback, text: str, actor: User, seen: int | None = None) -> None:
    """Answer the citizen: every answer is kept with its own time, shown in order; the
    first answer stops the 48-hour clock. Once per submit: the complaint's row is locked,
    and an answer identical to one sent since the form was shown (``seen``: how many
    answers the form showed; None: the latest answer) is not sent again
    (``AlreadyAnswered``), nor is its SMS queued."""
    locked(feedback)
    sent = db.session.scalars(
        sa.select(Answer.text).where(Answer.feedback_id == feedback.id).order_by(Answer.id)
    ).all()
    since = sent[seen:] if seen is not None and seen <= len(sent) else sent[-1:]
    if text.strip() in (earlier.strip() for earlier in since):
        raise AlreadyAnswered(text)
    old = {"status": feedback.status, "answered_at": feedback.answered_at}
    added = _add_answer(feedback, text, actor, utcnow())
    if feedback.status in OPEN_STATUSES:
        feedback.status = FeedbackStatus.ANSWERED
    db.session.flush()
    _notify(feedback, notification_text(feedback))
    audit.record(
        "feedback.answer",
        "feedback",
        feedback.code,
        {
            "answer": [None, added.text],
            "answer_number": [None, len(feedback.answers)],
            **audit.diff(old, {"status": feedback.status, "answered_at": feedback.answered_at}),
        },
        actor=actor,
    )


class AlreadyClosed(ValueError):
    """The complaint was closed meanwhile (a second submit, or another handler)."""


def close(feedback: Feedback, status: FeedbackStatus, reason: str, actor: User) -> None:
    """Resolve or reject, with the reason; a rejection answers the citizen with it. Once:
    the complaint's row is locked and checked open (``AlreadyClosed`` otherwise)."""
    if status not in (FeedbackStatus.RESOLVED, FeedbackStatus.REJECTED):
        raise ValueError(status)
    locked(feedback)
    if feedback.status in CLOSED_STATUSES:
        raise AlreadyClosed(feedback.status)
    old = {
        "status": feedback.status,
        "close_reason": feedback.close_reason,
        "answered_at": feedback.answered_at,
        "answer": feedback.answer,
    }
    feedback.status = status
    feedback.close_reason = reason.strip()
    feedback.closed_at = utcnow()
    if feedback.answered_at is None:
        # Closed without an answer: the reason is the answer the citizen reads.
        _add_answer(feedback, feedback.close_reason, actor, feedback.closed_at)
        _notify(feedback, notification_text(feedback))
    db.session.flush()
    audit.record(
        f"feedback.{status.value}",
        "feedback",
        feedback.code,
        audit.diff(
            old,
            {
                "status": feedback.status,
                "close_reason": feedback.close_reason,
                "answered_at": feedback.answered_at,
                "answer": feedback.answer,
            },
        ),
        reason=feedback.close_reason,
        actor=actor,
    )


class UnitWithoutAccount(ValueError):
    """Nobody can log in to the unit: a complaint sent there would sit unseen."""


def reassign(feedback: Feedback, unit: Unit, reason: str, actor: User) -> None:
    """A health authority moves a complaint to another unit (delegates it down, takes it
    up, or triages it out of the pool); the clock keeps running. Only to a unit with an
    active account (``UnitWithoutAccount`` otherwise)."""
    if unit.key not in staffed([unit]):
        raise UnitWithoutAccount(unit.key)
    old = {
        "unit_kind": feedback.unit_kind,
        "unit_area_id": feedback.unit_area_id,
        "unit_site_id": feedback.unit_site_id,
        "province_id": feedback.province_id,
    }
    feedback.unit_kind = unit.kind
    feedback.unit_area_id = unit.area_id
    feedback.unit_site_id = unit.site_id
    feedback.unit_key = unit.key
    if feedback.province_id is None:
        feedback.province_id = province_of(unit)
    db.session.flush()
    audit.record(
        "feedback.reassign",
        "feedback",
        feedback.code,
        audit.diff(
            old,
            {
                "unit_kind": unit.kind,
                "unit_area_id": unit.area_id,
                "unit_site_id": unit.site_id,
                "province_id": feedback.province_id,
            },
        ),
        reason=reason,
        actor=actor,
    )


def province_of(unit: Unit) -> int | None:
    if unit.site_id is not None:
        return db.session.scalar(
            sa.select(Area.province_id)
            .join(Site, Site.commune_id == Area.id)
            .where(Site.id == unit.site_id)
        )
    if unit.area_id is not None:
        area = db.session.get(Area, unit.area_id)
        if area is None:
            return None
        return area.id if area.kind == AreaKind.PROVINCE else area.province_id
    return None


def units_in_province(province: Area) -> list[tuple[Unit, str, bool]]:
    """The units of a province a complaint may be sent to, with their names and whether
    someone can log in to answer there (an active account): itself, its legacy
    districts, its communes' health stations and its sites."""
    units = [(Unit(UnitKind.PROVINCE, province.id), named(UnitKind.PROVINCE, province.name))]
    areas = sorted(
        db.session.execute(
            sa.select(Area.id, Area.kind, Area.name).where(
                areas_within(province), Area.kind.in_([AreaKind.DISTRICT, AreaKind.COMMUNE])
            )
        ),
        key=lambda row: (row[1] != AreaKind.DISTRICT, collation_key(row[2])),
    )
    for area_id, area_kind, name in areas:
        kind = (
            UnitKind.DISTRICT_CENTRE if area_kind == AreaKind.DISTRICT else UnitKind.HEALTH_STATION
        )
        units.append((Unit(kind, area_id), named(kind, name)))
    sites = db.session.execute(
        sa.select(Site.id, Site.name)
        .join(Area, Site.commune_id == Area.id)
        .where(areas_within(province), Site.active)
        .order_by(Site.name)
    )
    units.extend(
        (Unit(UnitKind.SITE, site_id=site_id), named(UnitKind.SITE, name))
        for site_id, name in sites
    )
    open_units = staffed(u for u, _name in units)
    return [(unit, name, unit.key in open_units) for unit, name in units]


# --- escalation --------------------------------------------------------------------------

ESCALATING_KINDS = (UnitKind.SITE, UnitKind.HEALTH_STATION, UnitKind.DISTRICT_CENTRE)


def escalation_targets(
    unit: Unit, open_units: set[str] | None = None, chain: list[Unit] | None = None
) -> list[tuple[Unit, list[Unit]]]:
    """Where an overdue complaint of ``unit`` is shown too, each with the units passed over
    on the way because nobody can log in to them (``routing.staffed``), nearest first.

    Health stations and district centres escalate to their province; commune-level and
    private sites to their commune's health station and to the province; other sites to
    the province. A unit without an active account is skipped for the next unit above it
    with one (``routing.units_above``), up to the common pool, which is always staffed.
    ``open_units``: the staffed units' keys, and ``chain`` the units above ``unit``, when
    the caller already has them."""
    if chain is None:
        chain = units_above(unit)
    if open_units is None:
        open_units = staffed(chain)
    intended = [u for u in chain if u.kind != UnitKind.POOL]
    targets: dict[str, tuple[Unit, list[Unit]]] = {}
    for wanted in intended or chain[-1:]:
        passed: list[Unit] = []
        for candidate in chain[chain.index(wanted) :]:
            if candidate.key in open_units:
                if candidate.key not in targets:
                    targets[candidate.key] = (candidate, passed)
                else:
                    known = targets[candidate.key][1]
                    known.extend(u for u in passed if u not in known)
                break
            passed.append(candidate)
    return list(targets.values())


def escalate_overdue(now: datetime | None = None) -> int:
    """Show every overdue, unanswered complaint to the unit above — once.

    The complaints are stamped first in one UPDATE, so a second run (or a concurrent one,
    which waits on the row locks) finds nothing left to escalate. Where each goes is
    ``escalation_targets``: a unit nobody can log in to is passed over for the one above,
    and the escalation's note names it (as a complaint's routing note does). One query
    reads which units are staffed, one insert writes the escalations.
    """
    now = now or utcnow()
    stamp = now
    overdue = sa.and_(
        Feedback.escalated_at.is_(None),
        Feedback.answered_at.is_(None),
        Feedback.status.in_(OPEN_STATUSES),
        Feedback.due_at <= now,
        Feedback.unit_kind.in_(ESCALATING_KINDS),
    )
    stamped = db.session.execute(
        sa.update(Feedback)
        .where(overdue)
        .values(escalated_at=stamp)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(stamped, "rowcount", 0) or 0)
    if not count:
        return 0
    rows = db.session.execute(
        sa.select(
            Feedback.id,
            Feedback.unit_kind,
            Feedback.unit_area_id,
            Feedback.unit_site_id,
            Feedback.due_at,
        )
        .where(Feedback.escalated_at == stamp)
        .order_by(Feedback.id)
    ).all()
    units = {
        row.id: Unit(UnitKind(row.unit_kind), row.unit_area_id, row.unit_site_id) for row in rows
    }
    chains = {unit.key: units_above(unit) for unit in set(units.values())}
    open_units = staffed({u.key: u for chain in chains.values() for u in chain}.values())
    # Where a unit's complaints go, once a unit: thousands of complaints share a few hundred.
    targets = {
        unit.key: escalation_targets(unit, open_units, chains[unit.key])
        for unit in set(units.values())
    }
    escalations: list[dict] = []
    passed_over: list[dict] = []
    for row in rows:
        for target, passed in targets[units[row.id].key]:
            note = "|".join([NO_ACCOUNT, *(u.key for u in passed)]) if passed else ""
            escalations.append(
                {
                    "feedback_id": row.id,
                    "unit_kind": target.kind,
                    "unit_area_id": target.area_id,
                    "due_at": row.due_at,
                    "escalated_at": stamp,
                    "note": note[:300],
                }
            )
            if passed:
                passed_over.append(
                    {"feedback_id": row.id, "to": target.key, "passed": [u.key for u in passed]}
                )
    if escalations:
        # The table's insert, one executemany: the ORM's bulk insert leaves a None out and
        # groups the rows by the columns each has, so rows alternating between an area's
        # unit and a site's were sent in thousands of small batches.
        db.session.execute(sa.insert(ESCALATION), escalations)
    audit.record(
        "feedback.escalate",
        "feedback",
        None,
        {
            "escalated": [None, count],
            "stamp": [None, stamp],
            **({"no_account": [None, passed_over]} if passed_over else {}),
        },
    )
    return count


# --- the outbox --------------------------------------------------------------------------


def deliver_pending(limit: int = 500) -> int:
    """Send what the outbox holds through the configured adapter; failures stay for a retry."""
    sent = 0
    rows = db.session.scalars(
        sa.select(Notification)
        .where(Notification.state == NotificationState.PENDING)
        .order_by(Notification.id)
        .limit(limit)
    )
    for note in rows:
        note.attempts += 1
        try:
            adapter_for(note.channel).send(note.recipient, note.body)
        except Exception as error:  # an SMS gateway down must not stop the others
            note.error = str(error)[:500]
            if note.attempts >= 5:
                note.state = NotificationState.FAILED
            continue
        note.state = NotificationState.SENT
        note.sent_at = utcnow()
        sent += 1
    db.session.flush()
    return sent
