"""Complaints, the routing rules that assign them, escalations and the notification outbox.

A *unit* is who answers a complaint: a vaccination site (its staff), a commune's health
station, a legacy district's health centre, a province's health authority, or the common
pool that health authorities triage. It is stored as a kind plus the area or the site.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area, Site
from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model
from portal.records.models import Person


class FeedbackKind(enum.StrEnum):
    MISSING_DOSE = "missing_dose"
    WRONG_DOSE = "wrong_dose"
    WRONG_PERSONAL = "wrong_personal"
    DUPLICATE = "duplicate"
    OTHER = "other"


class Precision(enum.StrEnum):
    """How precisely the citizen named the place of vaccination."""

    SITE = "site"  # a site and the dose details
    COMMUNE = "commune"
    DISTRICT = "district"  # a legacy (pre-2025) district
    PROVINCE = "province"
    NONE = "none"


class UnitKind(enum.StrEnum):
    SITE = "site"
    HEALTH_STATION = "health_station"
    DISTRICT_CENTRE = "district_centre"
    PROVINCE = "province"
    POOL = "pool"


class FeedbackStatus(enum.StrEnum):
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    RESOLVED = "resolved"
    REJECTED = "rejected"


OPEN_STATUSES = (FeedbackStatus.RECEIVED, FeedbackStatus.IN_PROGRESS)
CLOSED_STATUSES = (FeedbackStatus.RESOLVED, FeedbackStatus.REJECTED)


class RoutingRule(Model):
    """One line of the routing table: complaints named at this precision go to this unit.

    A row without a province is the rule for the whole country; a province's own row
    overrides it (that is how a province delegates commune complaints to health stations).
    """

    __tablename__ = "feedback_routing_rule"
    __table_args__ = (
        sa.UniqueConstraint("precision", "province_id", name="uq_feedback_routing_rule_scope"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    precision: Mapped[Precision] = mapped_column(enum_column(Precision, "feedback_precision"))
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    target: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "feedback_unit_kind"))
    note: Mapped[str | None] = mapped_column(sa.String(300))
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    province: Mapped[Area | None] = relationship()


class Feedback(Model):
    __tablename__ = "feedback"
    __table_args__ = (
        # A unit's queue by time left: its open complaints (partial index), and all of them.
        sa.Index(
            "ix_feedback_unit_open",
            "unit_key",
            "due_at",
            "id",
            sqlite_where=sa.text("answered_at IS NULL"),
            postgresql_where=sa.text("answered_at IS NULL"),
        ),
        sa.Index("ix_feedback_unit_due", "unit_key", "due_at", "id"),
        sa.Index("ix_feedback_overdue", "escalated_at", "answered_at", "due_at"),
        sa.Index("ix_feedback_province", "province_id", "due_at"),
        # The dashboard: unanswered complaints by place and due time (open, at risk,
        # overdue are three ranges of it), and answers by place and time.
        sa.Index(
            "ix_feedback_commune_open",
            "commune_id",
            "due_at",
            sqlite_where=sa.text("answered_at IS NULL"),
            postgresql_where=sa.text("answered_at IS NULL"),
        ),
        sa.Index(
            "ix_feedback_province_open",
            "province_id",
            "due_at",
            sqlite_where=sa.text("answered_at IS NULL"),
            postgresql_where=sa.text("answered_at IS NULL"),
        ),
        sa.Index("ix_feedback_province_answered", "province_id", "answered_at"),
        sa.Index("ix_feedback_commune_answered", "commune_id", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # The same submission on the same day (a replayed form) is one complaint.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[FeedbackKind] = mapped_column(enum_column(FeedbackKind, "feedback_kind"))
    status: Mapped[FeedbackStatus] = mapped_column(
        enum_column(FeedbackStatus, "feedback_status"), default=FeedbackStatus.RECEIVED
    )
    full_name: Mapped[str] = mapped_column(sa.String(200))
    id_number: Mapped[str | None] = mapped_column(sa.String(12))
    birth_date: Mapped[date]
    phone: Mapped[str] = mapped_column(sa.String(15))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    # The place, as precisely as the citizen named it.
    province_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    commune_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    dose_number: Mapped[int | None] = mapped_column(sa.SmallInteger)
    vaccine: Mapped[str | None] = mapped_column(sa.String(80))
    vaccinated_on: Mapped[date | None]
    precision: Mapped[Precision] = mapped_column(enum_column(Precision, "feedback_precision"))
    # The unit that answers it, and the rule that chose it.
    unit_kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "feedback_unit_kind"))
    unit_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    unit_site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    # The three above as one value (routing.Unit.key), so a queue is one equality.
    unit_key: Mapped[str] = mapped_column(sa.String(40))
    routing_rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("feedback_routing_rule.id"))
    routing_note: Mapped[str] = mapped_column(sa.String(300), default="")
    source: Mapped[str] = mapped_column(sa.String(80), default="web")
    person_id: Mapped[int | None] = mapped_column(sa.ForeignKey("person.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime]
    # The first answer's time: the 48-hour clock stops there. The answers are ``answers``.
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(sa.Text)
    escalated_at: Mapped[datetime | None]

    province: Mapped[Area | None] = relationship(foreign_keys=[province_id])
    district: Mapped[Area | None] = relationship(foreign_keys=[district_id])
    commune: Mapped[Area | None] = relationship(foreign_keys=[commune_id])
    site: Mapped[Site | None] = relationship(foreign_keys=[site_id])
    unit_area: Mapped[Area | None] = relationship(foreign_keys=[unit_area_id])
    unit_site: Mapped[Site | None] = relationship(foreign_keys=[unit_site_id])
    person: Mapped[Person | None] = relationship()
    escalations: Mapped[list[Escalation]] = relationship(order_by="Escalation.id")
    answers: Mapped[list[Answer]] = relationship(
        order_by="(Answer.answered_at, Answer.id)", back_populates="feedback"
    )

    @property
    def answer(self) -> str | None:
        """The latest answer's text (what a notification or an API client reads)."""
        return self.answers[-1].text if self.answers else None

    def __repr__(self) -> str:
        return f"<Feedback {self.code} {self.status}>"


class Answer(Model):
    """One answer to the citizen, with its own time; a second one is added, never replaces
    the first (whose time stopped the clock)."""

    __tablename__ = "feedback_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(sa.Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    feedback: Mapped[Feedback] = relationship(back_populates="answers")


class OpenCount(Model):
    """Unanswered complaints per unit (``unit_key``), kept by database triggers in the
    transaction of every insert, update and delete of a complaint
    (migrations/sql/counters.*.sql), so a queue's total is one row read, not tens of
    thousands of index entries counted."""

    __tablename__ = "feedback_open_count"

    unit_key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class Attachment(Model):
    """The citizen's photo or scan, kept in the database beside its complaint."""

    __tablename__ = "feedback_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(40))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class Escalation(Model):
    """An overdue complaint shown to a higher unit too; written once per complaint."""

    __tablename__ = "feedback_escalation"
    __table_args__ = (
        # The escalated part of a unit's queue, walked in due order like the assigned part.
        sa.Index(
            "ix_feedback_escalation_unit", "unit_kind", "unit_area_id", "due_at", "feedback_id"
        ),
        sa.UniqueConstraint("feedback_id", "unit_kind", name="uq_feedback_escalation_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    unit_kind: Mapped[UnitKind] = mapped_column(enum_column(UnitKind, "feedback_unit_kind"))
    unit_area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    due_at: Mapped[datetime]  # the complaint's, copied: it never changes
    escalated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why not the unit the escalation names first: "no_account|<unit keys passed over>"
    # (``routing.NO_ACCOUNT``), as a complaint's routing note says it; "" when none was.
    note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")

    unit_area: Mapped[Area | None] = relationship()


class NotificationState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class Notification(Model):
    """The outbox: written in the transaction of the answer, delivered later by an adapter."""

    __tablename__ = "feedback_notification"
    __table_args__ = (sa.Index("ix_feedback_notification_state", "state", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        sa.ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(sa.String(10))  # sms, email
    recipient: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    state: Mapped[NotificationState] = mapped_column(
        enum_column(NotificationState, "notification_state"), default=NotificationState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500))


class RateHit(Model):
    """Requests counted per client and time window (the public form's rate limit)."""

    __tablename__ = "rate_hit"

    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class FailureCount(Model):
    """Wrong answers counted per key (a tracking code) with the time of the last one: the
    growing wait of ``core.throttle`` reads them. A count older than its window starts
    again from one."""

    __tablename__ = "failure_count"

    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
