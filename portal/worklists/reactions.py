"""The worklists' reactions to other domains' events (core/events.py lists them all)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.core import events
from portal.extensions import db
from portal.worklists.models import Worklist, WorklistKind, WorklistMember, WorklistState


@events.correction_row_shown.connect
def correction_member(person: Any, **_: Any) -> WorklistMember | None:
    # The row shows the police decision that put the person on the list.
    return db.session.scalar(
        sa.select(WorklistMember)
        .join(Worklist)
        .where(
            WorklistMember.person_id == person.id,
            Worklist.kind == WorklistKind.CORRECTION,
            Worklist.state == WorklistState.DRAFT,
        )
        .limit(1)
    )
