from __future__ import annotations

import secrets
from pathlib import Path

import sqlalchemy as sa
from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required

from portal.auth.models import User
from portal.core.files import open_private, private_dir
from portal.core.paging import newest_first
from portal.core.rendering import is_fragment_request, render
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.services import create_job, enqueue
from portal.registry import permissions
from portal.registry.forms import ExtractFilterForm, ExtractUploadForm
from portal.registry.jobs import confirm_replacement, discard_preview
from portal.registry.labels import MODE_NAMES
from portal.registry.models import ExtractMode, RegisterEntry, RegisterExtract

PAGE_SIZE = 50


def _filter_form() -> ExtractFilterForm:
    """The list's search, read from the query string; a value in error is shown with its
    message and left out of the search."""
    form = ExtractFilterForm(formdata=request.args)
    form.validate()
    return form


def _extracts_page(form: ExtractUploadForm, status: int = 200):
    search = _filter_form()
    (q,) = search.values()
    query = sa.select(RegisterExtract).where(permissions.extract_scope(current_user))
    if q:
        query = query.where(RegisterExtract.source.icontains(q, autoescape=True))

    page = newest_first(query, RegisterExtract.id, PAGE_SIZE, search)
    names: dict[int | None, str] = dict(
        db.session.execute(
            sa.select(User.id, User.display_name).where(
                User.id.in_({e.imported_by_id for e in page.rows if e.imported_by_id})
            )
        ).all()
    )
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(RegisterEntry))
    return render(
        "registry/extracts.html",
        {"extract-history": "history"},
        status=400 if status == 200 and page.notice else status,
        form=form,
        search=search,
        page=page,
        history=[(extract, names.get(extract.imported_by_id)) for extract in page.rows],
        entries=entries,
        mode_names=MODE_NAMES,
        # An htmx search replaces the list only: the fields' messages come with it, out
        # of band, beside each field.
        field_messages_oob=is_fragment_request(),
    )


def _upload_form() -> ExtractUploadForm:
    form = ExtractUploadForm()
    if not permissions.can_replace_register(current_user):
        form.mode.choices = [c for c in form.mode.choices if c.value != ExtractMode.REPLACE]
    return form


@login_required
def list_extracts():
    if not permissions.can_import_extract(current_user):
        abort(403)
    form = _upload_form()
    if not permissions.can_replace_register(current_user):
        form.mode.data = ExtractMode.MERGE.value  # the only choice left: preselected
    return _extracts_page(form)


@login_required
def post_extract():
    if not permissions.can_import_extract(current_user):
        abort(403)
    form = _upload_form()
    if not form.validate_on_submit():
        return _extracts_page(form, status=400)
    upload = form.file.data
    # The file waits in the instance folder (shared with the worker) while a queue job
    # checks and loads it; the page follows the job's progress.
    folder = Path(
        current_app.config.get("UPLOADS_DIR") or Path(current_app.instance_path) / "uploads"
    )
    private_dir(folder)
    suffix = Path(upload.filename or "").suffix.lower()[:8]
    path = folder / f"extract-{secrets.token_hex(8)}{suffix}"
    with open_private(path) as handle:
        upload.save(handle)
    # A replacement is previewed first: the job counts what it would drop and writes
    # nothing until the administrator confirms (post_replacement).
    job_id = create_job(
        "register_import",
        None,
        {
            "path": str(path),
            "filename": upload.filename,
            "mode": form.mode.data,
            "preview": form.mode.data == ExtractMode.REPLACE.value,
        },
        actor=current_user,
    ).id
    db.session.commit()
    enqueue(job_id)
    return redirect(url_for("jobs.show_job", job_id=job_id), code=303)


def _preview_or_404(job_id: int) -> Job:
    """The user's own replacement preview, its row locked (a double click waits)."""
    preview = db.session.get(Job, job_id, with_for_update=True)
    if (
        preview is None
        or preview.kind != "register_import"
        or preview.created_by_id != current_user.id
        or not (preview.result or {}).get("preview")
    ):
        abort(404)
    if not permissions.can_replace_register(current_user):
        abort(403)
    return preview


@login_required
def post_replacement(job_id: int):
    """Confirm the replacement a preview job counted: its own job, then its page."""
    preview = _preview_or_404(job_id)
    if preview.result.get("discarded"):
        abort(409)
    again = bool(preview.result.get("confirmed_job"))  # a double click: the same job
    job_id = confirm_replacement(preview, current_user).id
    db.session.commit()
    if not again:
        enqueue(job_id)
    return redirect(url_for("jobs.show_job", job_id=job_id), code=303)


@login_required
def post_discard(job_id: int):
    """Give up a replacement after its preview: the kept upload is removed."""
    preview = _preview_or_404(job_id)
    if not preview.result.get("confirmed_job"):
        discard_preview(preview)
        db.session.commit()
    return redirect(url_for("registry.list_extracts"), code=303)
