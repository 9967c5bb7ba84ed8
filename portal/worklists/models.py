"""Lists of persons handed between units: police handover lists, correction lists, notes for
the population database side. Built so that a signature can be attached later."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area
from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model


class WorklistKind(enum.StrEnum):
    HANDOVER = "handover"  # police -> health station, verified persons (2262/BYT-CNTT, steps 2-3)
    CORRECTION = "correction"  # the register is right: the health station corrects the record
    REGISTER_UPDATE = "register_update"  # the record is right: a note for the register side


class WorklistState(enum.StrEnum):
    DRAFT = "draft"
    HANDED_OVER = "handed_over"
    RECEIVED = "received"
    ARCHIVED = "archived"


class Worklist(Model):
    __tablename__ = "worklist"
    __table_args__ = (sa.Index("ix_worklist_area_kind_state", "area_id", "kind", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[WorklistKind] = mapped_column(enum_column(WorklistKind, "worklist_kind"))
    state: Mapped[WorklistState] = mapped_column(
        enum_column(WorklistState, "worklist_state"), default=WorklistState.DRAFT
    )
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    handed_over_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    archived_at: Mapped[datetime | None]
    # The generated document, frozen at hand-over; the signing issue attaches signatures to it.
    document_path: Mapped[str | None] = mapped_column(sa.String(300))
    document_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    area: Mapped[Area] = relationship()
    members: Mapped[list[WorklistMember]] = relationship(
        back_populates="worklist", cascade="all, delete-orphan", order_by="WorklistMember.id"
    )


class WorklistMember(Model):
    __tablename__ = "worklist_member"
    __table_args__ = (
        sa.UniqueConstraint("worklist_id", "person_id", name="uq_worklist_member_person"),
        sa.Index("ix_worklist_member_person", "person_id"),
        # One open handover list per person (issue 15, item 2): two lists created at once
        # cannot both take the same person.
        sa.Index(
            "ux_worklist_member_open_handover",
            "person_id",
            unique=True,
            sqlite_where=sa.text("open_handover"),
            postgresql_where=sa.text("open_handover"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worklist_id: Mapped[int] = mapped_column(sa.ForeignKey("worklist.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    # The four identity fields and the result as they were when the person was added.
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The person's version the police decided on (correction and register-update lists):
    # the decision holds until the record changes (worklists.queries.decided).
    person_version: Mapped[int | None]
    # True while the person is on this handover list and the list is not archived; None
    # otherwise (other kinds of list, archived lists). Only for the unique index above.
    open_handover: Mapped[bool | None]

    worklist: Mapped[Worklist] = relationship(back_populates="members")
