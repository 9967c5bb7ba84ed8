from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user, login_required

from portal.areas.models import Area
from portal.core.forms import PortalForm
from portal.core.rendering import render
from portal.core.web import error_response
from portal.extensions import db
from portal.jobs import services
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


def may_retry(user, job: Job) -> bool:
    """The kind's own permission (its domain's) for starting its work again."""
    owner = services.owner_of(job.kind)
    return owner.may_retry is not None and owner.may_retry(user)


@bp.get("/<id:job_id>")
@login_required
def show_job(job_id: int):
    job = get_job_or_404(current_user, job_id)
    from portal.worklists.permissions import can_review

    owner = services.owner_of(job.kind)
    return render("jobs/show.html", {"job-progress": "progress"}, job=job,
                  job_links={"review": can_review(current_user)},
                  owner_page=owner.page(job) if owner.page else None,
                  can_retry=may_retry(current_user, job),
                  retry_here=owner.retry is not None)


@bp.post("/<id:job_id>/retry")
@login_required
def retry_job(job_id: int):
    """Start a failed job's work again: its owner back to a runnable state and a new job,
    then the owner's page (or the new job's)."""
    job = get_job_or_404(current_user, job_id)
    if not may_retry(current_user, job):
        abort(403)
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        new = services.retry(job, current_user)
    except services.NotRetryable as refused:
        db.session.rollback()
        return error_response(409, refused.message)
    new_id = new.id
    owner = services.owner_of(new.kind)
    target = owner.page(new) if owner.page else url_for("jobs.show_job", job_id=new_id)
    db.session.commit()
    services.enqueue(new_id)
    return redirect(target, code=303)
