"""An import batch: one uploaded file, its dry run, and what its commit created.

The file itself is kept with the batch (the error report reads it again, and the commit when
the dry run's stored checks no longer apply), and so are those checks, so web server and
worker need no shared folder. Persons and doses created by a commit carry
the batch's id (``person.import_batch_id``, ``dose.import_batch_id``).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from portal.areas.models import Area
from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model


class BatchState(enum.StrEnum):
    CHECKING = "checking"  # the dry run is queued or running
    CHECKED = "checked"  # the dry run is done: the user may commit the valid rows
    REJECTED = "rejected"  # the file as a whole cannot be read (or has no valid row)
    COMMITTING = "committing"  # the commit is queued or running
    COMMITTED = "committed"
    FAILED = "failed"  # a job failed; nothing of the commit was written


class ImportBatch(Model):
    __tablename__ = "import_batch"
    __table_args__ = (sa.Index("ix_import_batch_commune_created", "commune_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    filename: Mapped[str] = mapped_column(sa.String(200))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    file_size: Mapped[int] = mapped_column(default=0)
    content: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    state: Mapped[BatchState] = mapped_column(
        enum_column(BatchState, "import_batch_state"), default=BatchState.CHECKING
    )
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("job.id"))
    rows: Mapped[int] = mapped_column(default=0)
    valid_rows: Mapped[int] = mapped_column(default=0)
    error_rows: Mapped[int] = mapped_column(default=0)
    warning_rows: Mapped[int] = mapped_column(default=0)
    persons_created: Mapped[int] = mapped_column(default=0)
    persons_matched: Mapped[int] = mapped_column(default=0)
    doses_created: Mapped[int] = mapped_column(default=0)
    doses_matched: Mapped[int] = mapped_column(default=0)
    committed_at: Mapped[datetime | None]
    committed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # The dry run: the file-level problem, if any, and the rows with errors or warnings.
    report: Mapped[dict[str, Any]] = deferred(mapped_column(sa.JSON, default=dict))
    # The dry run's file checks, kept for the commit (``portal.imports.snapshot``); emptied
    # by the commit.
    checked_rows: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))

    commune: Mapped[Area] = relationship()

    @property
    def can_commit(self) -> bool:
        return self.state == BatchState.CHECKED and self.valid_rows > 0
