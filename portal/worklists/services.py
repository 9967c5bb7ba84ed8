"""Police review of mismatches, and the lists it feeds. Each write is audited with its note."""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa

from portal.audit import services as audit
from portal.core.clock import utcnow
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.records.services import update_person
from portal.registry.models import MatchResult
from portal.worklists.models import Worklist, WorklistKind, WorklistMember, WorklistState


class ReviewAction(enum.StrEnum):
    VERIFIED_IN_PERSON = "verified_in_person"
    REGISTER_IS_RIGHT = "register_is_right"  # the record must be corrected
    RECORD_IS_RIGHT = "record_is_right"  # the register must be updated


LIST_TITLES = {
    WorklistKind.CORRECTION: "Danh sách cần sửa thông tin",
    WorklistKind.REGISTER_UPDATE: "Đề nghị cập nhật CSDL dân cư",
}


def member_snapshot(person: Person, result: Any = None) -> dict[str, Any]:
    """The four identity fields and the result at the moment the person is listed."""
    return audit.jsonable(
        {
            "full_name": person.full_name,
            "sex": person.sex,
            "birth_date": person.birth_date,
            "birth_precision": person.birth_precision,
            "id_number": person.id_number,
            "status": person.status,
            "outcome": getattr(result, "outcome", None),
        }
    )


def open_list(kind: WorklistKind, area_id: int, actor=None) -> Worklist:
    """The area's list of this kind still being filled, created on first use."""
    worklist = db.session.scalar(
        sa.select(Worklist)
        .where(
            Worklist.kind == kind,
            Worklist.area_id == area_id,
            Worklist.state == WorklistState.DRAFT,
        )
        .order_by(Worklist.id.desc())
        .limit(1)
    )
    if worklist is None:
        worklist = Worklist(
            kind=kind,
            area_id=area_id,
            title=LIST_TITLES[kind],
            created_by_id=getattr(actor, "id", None),
        )
        db.session.add(worklist)
        db.session.flush()
        audit.record(
            "worklist.create",
            "worklist",
            worklist.id,
            {"kind": [None, kind], "area_id": [None, area_id]},
            actor=actor,
        )
    return worklist


def add_member(worklist: Worklist, person: Person, note: str, result=None, actor=None) -> bool:
    """Put the person on the list, decided on the record as it is now; False when already
    there for this version. A person listed before a change of the record is decided anew:
    the entry takes the new note, snapshot and version."""
    member = db.session.scalar(
        sa.select(WorklistMember).where(
            WorklistMember.worklist_id == worklist.id, WorklistMember.person_id == person.id
        )
    )
    if member is not None and member.person_version == person.version:
        return False
    if member is None:
        member = WorklistMember(worklist=worklist, person_id=person.id)
        db.session.add(member)
    member.note = note
    member.snapshot = member_snapshot(person, result)
    member.person_version = person.version
    member.added_by_id = getattr(actor, "id", None)
    member.added_at = utcnow()
    db.session.flush()
    audit.record(
        f"worklist.add_{worklist.kind.value}",
        "person",
        person.id,
        {"worklist": [None, worklist.title]},
        note,
        actor,
    )
    return True


def review(persons: list[Person], action: ReviewAction, note: str, actor=None) -> int:
    """Apply one police decision to the selected persons; returns how many it changed."""
    changed = 0
    for person in persons:
        if action == ReviewAction.VERIFIED_IN_PERSON:
            changes = update_person(
                person,
                {"status": PersonStatus.VERIFIED},
                note,
                actor,
                action="review.verified_in_person",
            )
            changed += bool(changes)
        else:
            kind = (
                WorklistKind.CORRECTION
                if action == ReviewAction.REGISTER_IS_RIGHT
                else WorklistKind.REGISTER_UPDATE
            )

            result = db.session.get(MatchResult, person.id)
            changed += add_member(
                open_list(kind, person.commune_id, actor), person, note, result, actor
            )
    return changed
