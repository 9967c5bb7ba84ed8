"""Matching as a job on the task queue, with progress over the communes it covers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.areas.models import Area
from portal.auth.models import User
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import Owner, Progress, again, create_job, handler
from portal.records.models import Person
from portal.registry import extract
from portal.registry.matching import MatchSummary, match_commune
from portal.registry.permissions import can_import_extract, can_start_match


def start_match(communes: list[Area], full: bool, area_id: int | None, actor=None) -> Job:
    return create_job(
        "match",
        area_id,
        {"communes": [c.code for c in communes], "full": full},
        actor=actor,
    )


# A matching run is its job: started again as it was, from the job's page.
@handler("match", owner=Owner(retry=again, may_retry=can_start_match))
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
        actor = db.session.get(User, job.created_by_id)
    for commune in communes:

        def report(done: int, _total: int, base: int = before) -> None:
            progress(base + done, total)

        summary.add(
            match_commune(commune, bool(job.params.get("full")), progress=report, actor=actor)
        )
        before += sizes.get(commune.id, 0)
        progress(before, total)
    return {"checked": summary.checked, "outcomes": summary.outcomes, "extract": summary.extract_id}


def report_of(parsed) -> dict[str, Any]:
    """What the job page shows of a parse: plain values, kept in the job's result."""

    def issues(items) -> list[dict[str, Any]]:
        return [
            {"row": i.row, "column": i.column, "letter": i.letter, "message": str(i.message)}
            for i in items
        ]

    return {
        "source": parsed.source,
        "error_count": parsed.error_count,
        "errors": issues(parsed.errors),
        "warning_count": parsed.warning_count,
        "warnings": issues(parsed.warnings),
    }


def remove_upload(job: Job) -> None:
    """A failed import of an extract keeps nothing of its file (personal data): the user
    uploads it again. The handler removes it itself when it ends; this is for a job whose
    worker died, or that no worker took."""
    path = (job.params or {}).get("path")
    if path:
        Path(path).unlink(missing_ok=True)


# Started again by uploading the file again (it is not kept).
@handler("register_import", owner=Owner(fail=remove_upload, may_retry=can_import_extract))
def run_register_import(job: Job, progress: Progress) -> dict[str, Any]:
    """Parse the uploaded extract, then load it all or nothing; the upload is removed after.

    A replacement runs twice (issue 14, item 1): first as a preview, which loads, counts and
    rolls back, keeping the upload for the confirmation; then, confirmed, for real, and only
    if it still drops what the preview said it would."""
    path = Path(job.params["path"])
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    preview = bool(job.params.get("preview"))
    keep = False
    try:
        progress(0, 2)
        parsed = extract.parse_extract(path, job.params["filename"])
        extract.check_areas(parsed, job.params["mode"], actor)
        progress(1, 2)
        if not parsed.ok:
            return {"ok": False, "report": report_of(parsed)}
        summary = extract.load_extract(parsed, job.params["mode"], actor)
        counts = {
            "extract_id": summary.extract_id,
            "mode": str(summary.mode.value),
            "rows": summary.rows,
            "inserted": summary.inserted,
            "updated": summary.updated,
            "deleted": summary.deleted,
            "unchanged": summary.unchanged,
            "existing": summary.rows - summary.inserted + summary.deleted,
        }
        expected = job.params.get("expect")
        if preview or (expected is not None and expected != _dropping(counts)):
            db.session.rollback()  # nothing is written before the confirmation
            if preview:
                keep = True
                return {"ok": True, "preview": True, "report": report_of(parsed), "summary": counts}
            parsed.error(
                None,
                None,
                _l(
                    "The register changed after the preview: this replacement would now add "
                    "%(inserted)d, change %(updated)d and drop %(deleted)d entries. Nothing was "
                    "written; import the file again to see the new counts.",
                    inserted=summary.inserted,
                    updated=summary.updated,
                    deleted=summary.deleted,
                ),
            )
            return {"ok": False, "report": report_of(parsed)}
        return {"ok": True, "report": report_of(parsed), "summary": counts}
    finally:
        if not keep:
            path.unlink(missing_ok=True)


def _dropping(counts: dict[str, Any]) -> list[int]:
    """What a confirmation of a replacement agreed to."""
    return [counts["inserted"], counts["updated"], counts["deleted"]]


def confirm_replacement(preview: Job, actor) -> Job:
    """The replacement a national administrator confirmed after its preview: a job of its
    own, for the upload the preview kept and the counts it showed. Confirming twice gives
    the same job (the preview's row is locked while it is read)."""
    result = dict(preview.result or {})
    if result.get("confirmed_job"):
        found = db.session.get(Job, result["confirmed_job"])
        assert found is not None
        return found
    job = create_job(
        "register_import",
        preview.area_id,
        {
            "path": preview.params["path"],
            "filename": preview.params["filename"],
            "mode": preview.params["mode"],
            "expect": _dropping(result["summary"]),
        },
        actor=actor,
    )
    db.session.flush()
    preview.result = result | {"confirmed_job": job.id}
    return job


def discard_preview(preview: Job) -> None:
    """A replacement given up after its preview: its upload goes, it cannot be confirmed."""
    Path(preview.params["path"]).unlink(missing_ok=True)
    preview.result = dict(preview.result or {}) | {"discarded": True}
