"""Who sees which job, and who starts a failed one again: the one place these rules live.

A job works for an area (the commune matched, the commune importing): it is seen by the
user who started it and by the users of that area or of an area holding it (a province's
users see its communes' jobs), as ``portal.areas.scope`` says; a job of no area only by
its author. Elsewhere a job answers 404. Starting failed work again is the permission of
the domain the work belongs to, which its kind names (``services.Owner.may_retry``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from portal.areas.scope import area_ids_within
from portal.auth.models import User
from portal.extensions import db
from portal.jobs import services
from portal.jobs.models import Job


def job_scope(user: User) -> sa.ColumnElement[bool]:
    """SQL on ``Job``: the jobs the user may follow."""
    return sa.or_(Job.created_by_id == user.id, Job.area_id.in_(area_ids_within(user.area)))


def get_job_or_404(user: User, job_id: int) -> Job:
    """The job, when the user may follow it (one statement); 404 otherwise."""
    job = db.session.scalar(sa.select(Job).where(Job.id == job_id, job_scope(user)))
    if job is None:
        abort(404)
    return job


def can_retry(user: User, job: Job) -> bool:
    """The kind's own permission (its domain's) for starting its work again."""
    owner = services.owner_of(job.kind)
    return owner.may_retry is not None and owner.may_retry(user)
