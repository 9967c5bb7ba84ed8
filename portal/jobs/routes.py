from __future__ import annotations

from flask import abort, redirect, url_for
from flask_login import current_user, login_required

from portal.core.forms import PortalForm
from portal.core.navigation import may_open
from portal.core.rendering import render
from portal.core.web import error_response
from portal.extensions import db
from portal.jobs import permissions, services


@login_required
def show_job(job_id: int):
    job = permissions.get_job_or_404(current_user, job_id)

    owner = services.owner_of(job.kind)
    return render(
        "jobs/show.html",
        {"job-progress": "progress"},
        job=job,
        job_links={"review": may_open(current_user, "worklists.show_review")},
        owner_page=owner.page(job) if owner.page else None,
        can_retry=permissions.can_retry(current_user, job),
        retry_here=owner.retry is not None,
    )


@login_required
def retry_job(job_id: int):
    """Start a failed job's work again: its owner back to a runnable state and a new job,
    then the owner's page (or the new job's)."""
    job = permissions.get_job_or_404(current_user, job_id)
    if not permissions.can_retry(current_user, job):
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
