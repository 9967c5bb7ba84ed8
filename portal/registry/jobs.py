"""Matching as a job on the task queue, with progress over the communes it covers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.areas.models import Area
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import Progress, create_job, handler
from portal.records.models import Person
from portal.registry.matching import MatchSummary, match_commune


def start_match(communes: list[Area], full: bool, area_id: int | None, actor=None) -> Job:
    return create_job(
        "match",
        area_id,
        {"communes": [c.code for c in communes], "full": full},
        actor=actor,
    )


@handler("match")
def run_match(job: Job, progress: Progress) -> dict[str, Any]:
    codes = job.params["communes"]
    communes = list(db.session.scalars(sa.select(Area).where(Area.code.in_(codes))))
    sizes = dict(
        db.session.execute(
            sa.select(Person.commune_id, sa.func.count())
            .where(Person.commune_id.in_([c.id for c in communes]))
            .group_by(Person.commune_id)
        ).all()
    )
    total = sum(sizes.values())
    before = 0
    summary = MatchSummary()
    actor = None
    if job.created_by_id:
        from portal.auth.models import User

        actor = db.session.get(User, job.created_by_id)
    for commune in communes:

        def report(done: int, _total: int, base: int = before) -> None:
            progress(base + done, total)

        summary.add(match_commune(commune, bool(job.params.get("full")), progress=report,
                                  actor=actor))
        before += sizes.get(commune.id, 0)
        progress(before, total)
    return {"checked": summary.checked, "outcomes": summary.outcomes,
            "extract": summary.extract_id}


def report_of(parsed) -> dict[str, Any]:
    """What the job page shows of a parse: plain values, kept in the job's result."""

    def issues(items) -> list[dict[str, Any]]:
        return [{"row": i.row, "column": i.column, "letter": i.letter, "message": str(i.message)}
                for i in items]

    return {"source": parsed.source, "error_count": parsed.error_count,
            "errors": issues(parsed.errors), "warning_count": parsed.warning_count,
            "warnings": issues(parsed.warnings)}


@handler("register_import")
def run_register_import(job: Job, progress: Progress) -> dict[str, Any]:
    """Parse the uploaded extract, then load it all or nothing; the upload is removed after."""
    from pathlib import Path

    from portal.auth.models import User
    from portal.registry import extract

    path = Path(job.params["path"])
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    try:
        progress(0, 2)
        parsed = extract.parse_extract(path, job.params["filename"])
        progress(1, 2)
        if not parsed.ok:
            return {"ok": False, "report": report_of(parsed)}
        summary = extract.load_extract(parsed, job.params["mode"], actor)
        return {
            "ok": True,
            "report": report_of(parsed),
            "summary": {
                "extract_id": summary.extract_id, "mode": str(summary.mode.value),
                "rows": summary.rows, "inserted": summary.inserted, "updated": summary.updated,
                "deleted": summary.deleted, "unchanged": summary.unchanged,
            },
        }
    finally:
        path.unlink(missing_ok=True)
