"""Handover lists (letter 2262/BYT-CNTT, steps 2-3): the police list the persons they
verified, hand the list over with a frozen PDF, and the commune's health station receives
and archives it.

Each service flushes and records one audit event; the request commits. The PDF is frozen at
hand-over (its path and SHA-256 are stored), so a signature can later be attached to exactly
those bytes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles

from portal.audit import services as audit
from portal.auth.models import User
from portal.core.clock import format_date, utcnow
from portal.core.files import private_dir
from portal.core.sql import locked, serialised
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.registry.models import MatchResult
from portal.worklists import pdf
from portal.worklists.models import Worklist, WorklistKind, WorklistMember, WorklistState

ELIGIBLE_STATUSES = (PersonStatus.MATCHED, PersonStatus.VERIFIED)
TITLE = "Danh sách bàn giao kết quả xác minh"
MAX_MEMBERS = 5000


ALREADY_LISTED = _l(
    "The selected persons are already on an open handover list (the form may have been sent twice)."
)


class HandoverError(ValueError):
    """A refused change; its message is shown to the user as it is (translated)."""


@dataclass(frozen=True)
class Transition:
    name: str
    source: WorklistState
    target: WorklistState
    stamp: str  # the time column set by this transition
    refused: Any  # the message when the list is not in ``source``
    done: Any  # the message when the list is in ``target`` already (a second submit)


TRANSITIONS = {
    "hand_over": Transition(
        "hand_over",
        WorklistState.DRAFT,
        WorklistState.HANDED_OVER,
        "handed_over_at",
        _l("Only a draft list can be handed over."),
        _l("This list has already been handed over."),
    ),
    "receive": Transition(
        "receive",
        WorklistState.HANDED_OVER,
        WorklistState.RECEIVED,
        "received_at",
        _l("Only a list that has been handed over can be received."),
        _l("This list has already been received."),
    ),
    "archive": Transition(
        "archive",
        WorklistState.RECEIVED,
        WorklistState.ARCHIVED,
        "archived_at",
        _l("Only a received list can be archived."),
        _l("This list has already been archived."),
    ),
}


def on_open_handover() -> sa.ColumnElement[bool]:
    """The person is already on a handover list that is not archived."""
    return sa.exists().where(
        WorklistMember.person_id == Person.id,
        WorklistMember.worklist_id == Worklist.id,
        Worklist.kind == WorklistKind.HANDOVER,
        Worklist.state != WorklistState.ARCHIVED,
    )


def eligible_clauses(user: User) -> list[sa.ColumnElement[bool]]:
    """Verified persons of the police user's commune, not yet on an open handover list."""
    return [
        Person.commune_id == user.area_id,
        Person.status.in_(ELIGIBLE_STATUSES),
        ~on_open_handover(),
    ]


def document_root() -> Path:
    configured = current_app.config.get("DOCUMENTS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "documents"


def _now_date_text(moment: datetime) -> str:
    return format_date(moment)


class json_object(sa.sql.functions.GenericFunction):
    """A JSON object built in SQL from key, value, key, value…: json_object on SQLite,
    json_build_object on PostgreSQL."""

    type = sa.JSON()
    inherit_cache = True


@compiles(json_object, "postgresql")
def _json_build_object(element, compiler, **kw):
    return f"json_build_object({compiler.process(element.clauses, **kw)})"


def _snapshot_sql() -> sa.ColumnElement[Any]:
    """``services.member_snapshot`` in SQL, for a whole selection at once."""
    outcome = (
        sa.select(MatchResult.outcome).where(MatchResult.person_id == Person.id).scalar_subquery()
    )
    return json_object(
        "full_name",
        Person.full_name,
        "sex",
        Person.sex,
        "birth_date",
        sa.cast(Person.birth_date, sa.String),
        "birth_precision",
        Person.birth_precision,
        "id_number",
        Person.id_number,
        "status",
        Person.status,
        "outcome",
        outcome,
    )


def create_handover(user: User, person_ids: list[int], note: str | None) -> Worklist:
    """A draft list of the ticked persons that are eligible; the others are ignored."""
    wanted = sorted(set(person_ids))[:MAX_MEMBERS]
    if not wanted:
        raise HandoverError(
            _l("Select at least one verified person who is not already on a handover list.")
        )
    return create_handover_from(user, [Person.id.in_(wanted)], note)


def create_handover_from(
    user: User, clauses: list[sa.ColumnElement[bool]], note: str | None
) -> Worklist:
    """A draft list of every eligible person the clauses select (the ticked ones, or all
    that match the list's filters), written set-based: one INSERT … SELECT. The commune's
    lists are made one at a time, so a second submit of the same form finds its persons
    on the first list (and the unique index keeps each person on one open list)."""
    serialised("worklist.create_handover", user.area_id)
    selected = [*clauses, *eligible_clauses(user)]
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(*selected))
    if not count:
        listed = [
            *clauses,
            Person.commune_id == user.area_id,
            Person.status.in_(ELIGIBLE_STATUSES),
            on_open_handover(),
        ]
        if db.session.scalar(sa.select(sa.exists().where(*listed))):
            raise HandoverError(ALREADY_LISTED)
        raise HandoverError(
            _l("Select at least one verified person who is not already on a handover list.")
        )
    if count > MAX_MEMBERS:
        raise HandoverError(
            _l(
                "%(num)s persons match: a handover list holds at most "
                "%(max)s. Narrow the search or the filters.",
                num=count,
                max=MAX_MEMBERS,
            )
        )
    now = utcnow()
    worklist = Worklist(
        kind=WorklistKind.HANDOVER,
        state=WorklistState.DRAFT,
        area_id=user.area_id,
        title=f"{TITLE} – {user.area.name} – {_now_date_text(now)}",
        note=(note or "").strip() or None,
        created_by_id=user.id,
        created_at=now,
    )
    db.session.add(worklist)
    db.session.flush()
    rows = (
        sa.select(
            sa.literal(worklist.id),
            Person.id,
            _snapshot_sql(),
            sa.literal(user.id),
            sa.literal(now, sa.DateTime),
            sa.literal(True, sa.Boolean),
        )
        .where(*selected)
        .order_by(Person.name_sort, Person.id)
    )
    try:
        db.session.execute(
            sa.insert(WorklistMember).from_select(
                [
                    "worklist_id",
                    "person_id",
                    "snapshot",
                    "added_by_id",
                    "added_at",
                    "open_handover",
                ],
                rows,
            )
        )
    except IntegrityError as error:  # the unique index: listed meanwhile (the caller rolls back)
        raise HandoverError(ALREADY_LISTED) from error
    person_ids = list(
        db.session.scalars(
            sa.select(WorklistMember.person_id)
            .where(WorklistMember.worklist_id == worklist.id)
            .order_by(WorklistMember.id)
        )
    )
    audit.record(
        "worklist.create",
        "worklist",
        worklist.id,
        {
            "kind": [None, WorklistKind.HANDOVER],
            "area_id": [None, user.area_id],
            "state": [None, WorklistState.DRAFT],
            "members": [None, len(person_ids)],
            "person_ids": [None, person_ids],
        },
        worklist.note,
        user,
    )
    return worklist


def members_of(worklist: Worklist) -> list[WorklistMember]:
    return list(
        db.session.scalars(
            sa.select(WorklistMember)
            .where(WorklistMember.worklist_id == worklist.id)
            .order_by(WorklistMember.id)
        )
    )


def creator_name(worklist: Worklist) -> str | None:
    if worklist.created_by_id is None:
        return None
    creator = db.session.get(User, worklist.created_by_id)
    return creator.display_name if creator is not None else None


def render_document(worklist: Worklist, draft: bool) -> bytes:
    moment = None if draft else worklist.handed_over_at
    return pdf.build_pdf(
        worklist, members_of(worklist), creator_name(worklist), moment, draft=draft
    )


def _store(relative: str, content: bytes) -> None:
    """Written whole or not at all: a reader never sees half a document."""
    target = document_root() / relative
    private_dir(target.parent)
    # mkstemp creates the file 0600.
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def stored_document(worklist: Worklist) -> bytes:
    """The frozen PDF, checked against its recorded SHA-256."""
    if not worklist.document_path or not worklist.document_sha256:
        raise HandoverError(_l("This list has no stored document."))
    root = document_root().resolve()
    path = (root / worklist.document_path).resolve()
    if root not in path.parents:
        raise HandoverError(
            _l(
                "The stored document of this list is missing or has been "
                "altered; it cannot be used."
            )
        )
    try:
        content = path.read_bytes()
    except OSError as error:
        raise HandoverError(
            _l(
                "The stored document of this list is missing or has been "
                "altered; it cannot be used."
            )
        ) from error
    if hashlib.sha256(content).hexdigest() != worklist.document_sha256:
        raise HandoverError(
            _l(
                "The stored document of this list is missing or has been "
                "altered; it cannot be used."
            )
        )
    return content


def _transition(worklist: Worklist, name: str, user: User) -> Worklist:
    step = TRANSITIONS[name]
    locked(worklist)  # a second submit waits here, then finds the state this one left
    if worklist.kind != WorklistKind.HANDOVER:
        raise HandoverError(_l("This is not a handover list."))
    if worklist.state == step.target:
        raise HandoverError(step.done)
    if worklist.state != step.source:
        raise HandoverError(step.refused)
    old_hash = worklist.document_sha256
    now = utcnow()
    setattr(worklist, step.stamp, now)
    worklist.state = step.target
    if name == "hand_over":
        content = render_document(worklist, draft=False)
        relative = f"worklists/{worklist.id}.pdf"
        _store(relative, content)
        worklist.document_path = relative
        worklist.document_sha256 = hashlib.sha256(content).hexdigest()
    else:
        # The health station acts on the document the police froze; refuse if it changed.
        stored_document(worklist)
    if name == "archive":
        # Its persons may go on a new handover list.
        db.session.execute(
            sa.update(WorklistMember)
            .where(WorklistMember.worklist_id == worklist.id)
            .values(open_handover=None)
            .execution_options(synchronize_session=False)
        )
    db.session.flush()
    count = (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(WorklistMember)
            .where(WorklistMember.worklist_id == worklist.id)
        )
        or 0
    )
    audit.record(
        f"worklist.{name}",
        "worklist",
        worklist.id,
        {
            "state": [step.source, step.target],
            step.stamp: [None, now],
            "members": [count, count],
            "document_sha256": [old_hash, worklist.document_sha256],
        },
        actor=user,
    )
    return worklist


def hand_over(worklist: Worklist, user: User) -> Worklist:
    """Police: freeze the list and its PDF; from now on the list cannot change."""
    return _transition(worklist, "hand_over", user)


def receive(worklist: Worklist, user: User) -> Worklist:
    """Health station of the same commune: the list has arrived."""
    return _transition(worklist, "receive", user)


def archive(worklist: Worklist, user: User) -> Worklist:
    """Health station: the list is filed; its persons may go on a new list."""
    return _transition(worklist, "archive", user)
