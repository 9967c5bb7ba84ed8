from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort
from flask_login import current_user, login_required

from portal.areas.models import Area
from portal.core.rendering import render
from portal.extensions import db
from portal.jobs.models import Job

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def get_job_or_404(user, job_id: int) -> Job:
    """A job is seen by its author and by users whose area holds the job's area."""
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    if job.created_by_id == user.id or job.area_id == user.area_id:
        return job
    in_scope = db.session.scalar(
        sa.select(sa.func.count()).where(
            Area.id == job.area_id,
            sa.or_(Area.province_id == user.area_id, Area.parent_id == user.area_id),
        )
    )
    if not in_scope:
        abort(404)
    return job


@bp.get("/<id:job_id>")
@login_required
def show_job(job_id: int):
    job = get_job_or_404(current_user, job_id)
    from portal.worklists.permissions import can_review

    return render("jobs/show.html", {"job-progress": "progress"}, job=job,
                  job_links={"review": can_review(current_user)})
