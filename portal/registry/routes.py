from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.auth.models import User
from portal.core.rendering import render
from portal.core.web import format_number
from portal.extensions import db
from portal.registry import extract, permissions
from portal.registry.forms import MODE_NAMES, ExtractUploadForm
from portal.registry.models import ExtractMode, RegisterEntry, RegisterExtract

bp = Blueprint("registry", __name__, url_prefix="/registry")

EXTRACT_HISTORY = 50


@bp.app_context_processor
def _navigation() -> dict:
    # The layout shows the link only to those the route lets in; the route checks again.
    return {"can_import_extract": permissions.can_import_extract}


def _extracts_page(form: ExtractUploadForm, parsed: extract.ParsedExtract | None = None,
                   status: int = 200):
    history = db.session.execute(
        sa.select(RegisterExtract, User.display_name)
        .outerjoin(User, RegisterExtract.imported_by_id == User.id)
        .order_by(RegisterExtract.id.desc())
        .limit(EXTRACT_HISTORY)
    ).all()
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry))
    return render(
        "registry/extracts.html",
        status=status,
        form=form,
        parsed=parsed,
        history=history,
        entries=entries,
        mode_names=MODE_NAMES,
    )


def _upload_form() -> ExtractUploadForm:
    form = ExtractUploadForm()
    if not permissions.can_replace_register(current_user):
        form.mode.choices = [c for c in form.mode.choices if c.value != ExtractMode.REPLACE]
        form.mode.data = form.mode.data or ExtractMode.MERGE.value
    return form


@bp.get("/extracts")
@login_required
def list_extracts():
    if not permissions.can_import_extract(current_user):
        abort(403)
    return _extracts_page(_upload_form())


@bp.post("/extracts")
@login_required
def post_extract():
    if not permissions.can_import_extract(current_user):
        abort(403)
    form = _upload_form()
    if not form.validate_on_submit():
        return _extracts_page(form, status=400)
    upload = form.file.data
    # Synchronous for now: the 16 MiB upload limit keeps a file to ~250,000 rows, a few
    # seconds. Larger extracts go through `flask registry import` (later the task queue).
    parsed, summary = extract.import_extract(
        upload.stream, upload.filename, form.mode.data, current_user._get_current_object()
    )
    if summary is None:
        db.session.rollback()
        return _extracts_page(form, parsed=parsed, status=422)
    db.session.commit()
    flash(_("Extract imported: %(rows)s rows; %(inserted)s new, %(updated)s changed, "
            "%(deleted)s removed, %(unchanged)s unchanged.",
            rows=format_number(summary.rows), inserted=format_number(summary.inserted),
            updated=format_number(summary.updated), deleted=format_number(summary.deleted),
            unchanged=format_number(summary.unchanged)), "success")
    if summary.warnings:
        flash(ngettext("%(num)s row repeated an ID number with the same data and was "
                       "imported once.",
                       "%(num)s rows repeated an ID number with the same data and were "
                       "imported once.", summary.warnings), "warning")
    return redirect(url_for("registry.list_extracts"), code=303)
