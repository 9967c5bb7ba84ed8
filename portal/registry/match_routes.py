"""Starting a matching run from the browser: a job on the queue, then its progress page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, request, url_for
from flask_login import current_user, login_required

from portal.areas.models import Area, AreaKind
from portal.extensions import db
from portal.jobs.services import enqueue
from portal.records.permissions import commune_scope
from portal.registry import permissions
from portal.registry.jobs import start_match


@login_required
def post_match():
    if not permissions.can_start_match(current_user):
        abort(403)
    code = (request.form.get("commune") or "").strip()
    if current_user.area.kind == AreaKind.COMMUNE:
        communes = [current_user.area]
    else:
        # A province user names one commune, or runs every commune of the province.
        query = sa.select(Area).where(commune_scope(current_user))
        if code:
            query = query.where(Area.code == code)
        communes = list(db.session.scalars(query))
        if code and not communes:
            abort(404)
    job_id = start_match(
        communes,
        full=request.form.get("full") == "1",
        area_id=current_user.area_id,
        actor=current_user,
    ).id
    db.session.commit()
    enqueue(job_id)
    return redirect(url_for("jobs.show_job", job_id=job_id), code=303)
