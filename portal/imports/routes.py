"""``/imports``: health stations import persons and doses from Excel, with a dry run first.

A small file is checked (and later committed) within the request; a larger one by a job
on the task queue, whose progress the batch's page follows. Either way the batch page is
where the user comes back to, and the list shows every batch of the commune.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from portal.auth.models import User
from portal.core.export import XLSX_MIMETYPE
from portal.core.paging import newest_first
from portal.core.rendering import is_fragment_request, render
from portal.core.spreadsheets import FileRejected
from portal.core.sql import locked
from portal.core.web import error_response
from portal.extensions import db
from portal.imports import jobs, permissions, services
from portal.imports.forms import CommitForm, ImportFilterForm, ImportUploadForm
from portal.imports.models import BatchState, ImportBatch
from portal.jobs.models import Job
from portal.jobs.services import enqueue

PAGE_SIZE = 50
DEFAULT_INLINE_BYTES = 512 * 1024  # about 10,000 rows of .xlsx: checked within the request
IN_PROGRESS = (BatchState.CHECKING, BatchState.COMMITTING)


def _inline(batch: ImportBatch) -> bool:
    limit = current_app.config.get("IMPORT_INLINE_BYTES", DEFAULT_INLINE_BYTES)
    return batch.file_size <= int(limit)


def _filter_form() -> ImportFilterForm:
    """The list's search, read from the query string; a value in error is shown with its
    message and left out of the search."""
    form = ImportFilterForm(formdata=request.args)
    form.validate()
    return form


def _list_page(form: ImportUploadForm, status: int = 200):
    search = _filter_form()
    q, state = search.values()
    query = sa.select(ImportBatch).where(ImportBatch.commune_id == current_user.area_id)
    if q:
        query = query.where(ImportBatch.filename.icontains(q, autoescape=True))
    if state:
        query = query.where(ImportBatch.state == BatchState(state))

    page = newest_first(query, ImportBatch.id, PAGE_SIZE, search)
    names: dict[int | None, str] = dict(
        db.session.execute(
            sa.select(User.id, User.display_name).where(
                User.id.in_({b.created_by_id for b in page.rows if b.created_by_id})
            )
        ).all()
    )
    busy = any(batch.state in IN_PROGRESS for batch in page.rows)
    return render(
        "imports/list.html",
        {"import-batches": "batches"},
        status=400 if status == 200 and page.notice else status,
        form=form,
        search=search,
        page=page,
        batches=[(batch, names.get(batch.created_by_id)) for batch in page.rows],
        busy=busy,
        # An htmx search replaces the list only: the fields' messages come with it, out
        # of band, beside each field.
        field_messages_oob=is_fragment_request(),
    )


@login_required
def list_imports():
    if not permissions.can_import(current_user):
        abort(403)
    return _list_page(ImportUploadForm())


@login_required
def post_import():
    if not permissions.can_import(current_user):
        abort(403)
    # The form's own limit, a little above the file's for the multipart envelope.
    request.max_content_length = services.max_bytes() + 64 * 1024
    try:
        form = ImportUploadForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        return error_response(413, services.too_large_message())
    if not valid:
        return _list_page(form, status=400)
    upload = form.file.data
    data = upload.read(services.max_bytes() + 1)
    try:
        batch = services.create_batch(data, upload.filename, current_user.area, current_user)
    except FileRejected as rejected:
        return error_response(413, str(rejected.message))
    if _inline(batch):
        services.check_batch(batch)
        db.session.commit()
        return redirect(url_for("imports.show_import", batch_id=batch.id), code=303)
    job_id = jobs.start("records_import_check", batch, current_user).id
    db.session.commit()
    enqueue(job_id)
    return redirect(url_for("imports.show_import", batch_id=batch.id), code=303)


@login_required
def show_import(batch_id: int):
    if not permissions.can_import(current_user):
        abort(403)
    batch = permissions.get_batch_or_404(current_user, batch_id)
    return _batch_page(batch)


def _batch_page(batch: ImportBatch, status: int = 200):
    job = db.session.get(Job, batch.job_id) if batch.job_id else None
    return render(
        "imports/batch.html",
        {"batch-status": "status"},
        status=status,
        batch=batch,
        job=job,
        form=CommitForm(),
        in_progress=batch.state in IN_PROGRESS,
    )


@login_required
def commit_import(batch_id: int):
    if not permissions.can_import(current_user):
        abort(403)
    batch = permissions.get_batch_or_404(current_user, batch_id)
    form = CommitForm()
    if not form.validate_on_submit():
        abort(400)
    locked(batch)  # a second submit waits for the first, then finds the batch committed
    if batch.state in (BatchState.COMMITTING, BatchState.COMMITTED):
        return error_response(409, _("This import has already been committed."))
    if not batch.can_commit:
        return error_response(
            409,
            _(
                "This import cannot be committed: it is committed "
                "already, still being checked, or has no valid row."
            ),
        )
    if _inline(batch):
        summary = services.commit_batch(batch, current_user)
        db.session.commit()
        flash(
            _(
                "Imported: %(created)d persons created, %(matched)d already recorded; "
                "%(doses)d doses added.",
                created=summary["persons_created"],
                matched=summary["persons_matched"],
                doses=summary["doses_created"],
            ),
            "success",
        )
        return redirect(url_for("imports.show_import", batch_id=batch.id), code=303)
    batch.state = BatchState.COMMITTING
    job_id = jobs.start("records_import_commit", batch, current_user).id
    db.session.commit()
    enqueue(job_id)
    return redirect(url_for("imports.show_import", batch_id=batch.id), code=303)


@login_required
def download_errors(batch_id: int):
    if not permissions.can_import(current_user):
        abort(403)
    batch = permissions.get_batch_or_404(current_user, batch_id)
    if not batch.error_rows or batch.state in IN_PROGRESS:
        abort(404)
    stem = batch.filename.rsplit(".", 1)[0][:80] or "import"
    return send_file(
        services.error_report(batch),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"{stem}-loi.xlsx",
    )


@login_required
def download_template():
    if not permissions.can_import(current_user):
        abort(403)
    return send_file(
        io.BytesIO(services.template_workbook(current_user.area)),
        mimetype=XLSX_MIMETYPE,
        as_attachment=True,
        download_name="mau-nhap-doi-tuong-tiem-chung.xlsx",
    )
