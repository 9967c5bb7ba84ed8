"""Long work (imports, matching, batch signing) runs on the task queue; this row is what the
progress bar reads."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Model):
    __tablename__ = "job"
    __table_args__ = (sa.Index("ix_job_area_created", "area_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    state: Mapped[JobState] = mapped_column(
        enum_column(JobState, "job_state"), default=JobState.QUEUED
    )
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("area.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Set when the job starts and at every progress report: a running job whose heartbeat
    # stopped long ago lost its worker (jobs.services.reap_stale).
    heartbeat_at: Mapped[datetime | None]
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def percent(self) -> int:
        """0 to 100: the progress bar's width is one of the classes pct-0 … pct-100."""
        if self.state == JobState.DONE:
            return 100
        return min(100, max(0, int(100 * self.done / self.total))) if self.total else 0
