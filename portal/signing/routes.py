"""Signing in the browser: what awaits signature, the PIN dialog, signed documents, minutes,
and the public verification page (no login)."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from io import BytesIO

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, Site
from portal.auth import permissions as account_permissions
from portal.auth.models import User
from portal.core import dates
from portal.core.accounts import SigningMethod
from portal.core.clock import today_in_vietnam, utcnow
from portal.core.database import writes
from portal.core.pdf import birth_text
from portal.core.rendering import is_fragment_request, render
from portal.core.text import fold
from portal.core.web import error_response
from portal.extensions import db
from portal.feedback import services as feedback_services
from portal.records.labels import STATUS_LABELS
from portal.signing import documents, jobs, permissions, queries, services
from portal.signing.forms import (
    AwaitingFilterForm,
    CscLinkForm,
    MinutesConfirmForm,
    MinutesForm,
    MinutesPrintForm,
    OpenDialogForm,
    RevokeForm,
    SignForm,
    SigningMethodForm,
    UnlockCredentialForm,
    VerifyForm,
)
from portal.signing.labels import (
    CHANGED_FIELD_LABELS,
    KIND_LABELS,
    METHOD_LABELS,
    MINUTES_STATE_LABELS,
    STATE_LABELS,
    VERDICT_MESSAGES,
    modification_text,
)
from portal.signing.models import (
    BatchState,
    DocumentKind,
    DocumentMember,
    Minutes,
    SignedDocument,
    SigningBatch,
    SigningBatchMember,
)
from portal.worklists.models import Worklist
from portal.worklists.permissions import handover_scope

AWAITING_FRAGMENTS = {"signing-results": "results", "sign-dialog": "dialog"}
SHOWN = 200


def _filters(form) -> services.Filters:
    return services.Filters(status=form.status.data or None, search=(form.q.data or None))


def _day(value) -> date:
    if isinstance(value, date):
        return value
    return (dates.day(value) or abort(400)) if value else today_in_vietnam()


def _awaiting_context(form: AwaitingFilterForm) -> dict:
    filters = _filters(form)
    context: dict = {
        "filters": filters,
        "persons": [],
        "total": 0,
        "rows": [],
        "mode": None,
        "day": None,
    }
    if permissions.can_sign_committee(current_user):
        persons, total = services.awaiting_committee(current_user.area_id, filters, limit=SHOWN)
        context.update(mode="committee", persons=persons, total=total)
    elif permissions.can_sign_site(current_user):
        site = db.session.get(Site, current_user.site_id)
        day = _day(form.day.data)
        rows = services.site_day_rows(site, day) if site is not None else []
        context.update(mode="site", rows=rows, total=len(rows), day=day, site=site)
    return context


def _documents_of_user() -> list[tuple[SignedDocument, str, bool]]:
    """The latest documents of the user's unit that they may open, each with the title it
    is listed under (a certificate by its person's name: older certificates' titles do not
    carry it) and whether the user sees it whole (else reduced to the persons of their area).
    Whole or not is asked of the twenty listed only, not of every document in scope."""
    rows = queries.latest_documents(current_user)
    names = services.certificate_names([d.id for d, _whole in rows])
    return [
        (
            d,
            f"{d.title} – {names[d.id]}"
            if names.get(d.id) and names[d.id] not in d.title
            else d.title,
            whole,
        )
        for d, whole in rows
    ]


def person_documents(person_id: int) -> list[tuple[SignedDocument, DocumentMember]]:
    """For the record page: the documents confirming or certifying the person that the
    user may open (the signing domain's scope applies, not the record's)."""
    if not current_user.is_authenticated:
        return []
    return services.documents_of_person(person_id, permissions.document_scope(current_user))


def _awaiting_page(
    form: AwaitingFilterForm,
    sign_form: SignForm | None = None,
    status: int = 200,
    message: str | None = None,
    signed=None,
    message_at: str | None = None,
    batch: SigningBatch | None = None,
    skipped: list[dict] | None = None,
    certificates_oob: bool = False,
):
    """``message_at`` names the part of the page the message belongs to (the certificates
    form); by default it stands above the list, beside the sign dialog. ``certificates_oob``:
    the dialog's answer carries the certificates' box too (a list was just signed: its
    persons now await their certificates)."""
    context = _awaiting_context(form)
    credential = services.active_credential(current_user)
    sign_form = sign_form or SignForm(formdata=None)
    open_form = OpenDialogForm(
        formdata=None,
        status=form.status.data or "",
        q=form.q.data or "",
        day=context["day"].isoformat() if context["day"] else "",
    )
    return render(
        "signing/awaiting.html",
        AWAITING_FRAGMENTS,
        status=status,
        form=form,
        sign_form=sign_form,
        open_form=open_form,
        credential=credential,
        message=message,
        signed=signed,
        batch=batch,
        skipped=skipped or [],
        batch_members=services.batch_members(batch) if batch is not None else [],
        field_text=_field_text,
        documents=_documents_of_user(),
        kind_labels=KIND_LABELS,
        minutes_form=MinutesPrintForm(
            formdata=None, status=form.status.data or "", q=form.q.data or ""
        ),
        open_minutes=_open_minutes(),
        can_minutes=permissions.can_record_minutes(current_user),
        can_certificates=permissions.can_sign_certificates(current_user),
        certificates_waiting=len(services.confirmed_without_certificate(current_user.area_id))
        if permissions.can_sign_certificates(current_user) and credential
        else 0,
        message_at=message_at,
        certificates_oob=certificates_oob,
        minutes_state_labels=MINUTES_STATE_LABELS,
        **context,
    )


def _open_minutes() -> list[Minutes]:
    """Minutes printed in the user's commune that await their scan or confirmation."""
    if not permissions.can_record_minutes(current_user):
        return []
    return queries.open_minutes(current_user)


def _require_signer() -> None:
    if not permissions.can_sign_anything(current_user):
        abort(403)


@login_required
def show_awaiting():
    _require_signer()
    form = AwaitingFilterForm(formdata=request.args)
    if not form.validate():
        return _awaiting_page(form.without_errors(), status=400)
    return _awaiting_page(form)


@login_required
def preview_pdf():
    """The document as it will be signed, unsigned (a preview)."""
    _require_signer()
    form = AwaitingFilterForm(formdata=request.args)
    if not form.validate():
        abort(400)

    credential = services.active_credential(current_user)
    title = credential.title if credential else "Chủ tịch"
    if permissions.can_sign_committee(current_user):
        persons, total = services.awaiting_committee(current_user.area_id, _filters(form))
        if not total:
            abort(404)
        built = documents.committee_list(
            current_user.area,
            services.person_snapshots(persons),
            current_user.display_name,
            title,
            "Số: ......./DS-UBND",
            today_in_vietnam(),
            preview=True,
        )
        name = "xem-truoc-danh-sach-xac-nhan.pdf"
    else:
        site = db.session.get(Site, current_user.site_id)
        day = _day(form.day.data)
        rows = services.site_day_rows(site, day) if site is not None else []
        if not rows:
            abort(404)
        snapshots = [
            {
                **services.member_snapshot(p),
                "dose_number": d.dose_number,
                **services.vaccine_fields(d),
                "lot": d.lot,
            }
            for p, d in rows
        ]
        built = documents.site_daily_list(
            site,
            day,
            snapshots,
            current_user.display_name,
            title,
            "Số: ......./DS-CSTC",
            preview=True,
        )
        name = f"xem-truoc-ho-chieu-vac-xin-{day:%Y%m%d}.pdf"
    return _pdf_response(built.content, name, inline=True)


FILE_NAMES = {
    DocumentKind.COMMITTEE_LIST: "danh-sach-xac-nhan",
    DocumentKind.HANDOVER_LIST: "danh-sach-ban-giao-da-ky",
    DocumentKind.SITE_DAILY: "ho-chieu-vac-xin",
    DocumentKind.CERTIFICATE: "chung-nhan-tiem-chung",
    DocumentKind.MINUTES: "bien-ban-xac-nhan",
}


def download_name(document: SignedDocument) -> str:
    """A Vietnamese file name in ASCII (unaccented, hyphenated), e.g.
    danh-sach-ban-giao-da-ky-12.pdf; a certificate carries its person's name."""
    stem = FILE_NAMES[document.kind]
    if document.kind == DocumentKind.CERTIFICATE:
        name = queries.first_member_snapshot(document)
        slug = re.sub(r"[^a-z0-9]+", "-", fold((name or {}).get("full_name"))).strip("-")
        stem = f"{stem}-{slug}" if slug else stem
    suffix = document.path.rsplit(".", 1)[-1] if "." in document.path else "pdf"
    return f"{stem}-{document.id}.{suffix}"


def _pdf_response(
    content: bytes, name: str, inline: bool = False, mimetype: str = "application/pdf"
):
    # Cache-Control: no-store, as on every response (portal/core/headers.py).
    return send_file(
        BytesIO(content), mimetype=mimetype, download_name=name, as_attachment=not inline, max_age=0
    )


def _batch_or_404(batch_id: int) -> SigningBatch:
    """A sign dialog's list: its creator's only (another user opens their own dialog)."""
    batch = db.session.scalar(
        sa.select(SigningBatch).where(
            SigningBatch.id == batch_id, SigningBatch.created_by_id == current_user.id
        )
    )
    if batch is None:
        abort(404)
    return batch


def _batch_filters(batch: SigningBatch) -> AwaitingFilterForm:
    """The awaiting page's filter as it was when the dialog opened."""
    filters = batch.filters or {}
    return AwaitingFilterForm(
        formdata=None,
        status=filters.get("status") or "",
        q=filters.get("search") or "",
        day=batch.day,
    )


def skipped_of(batch: SigningBatch) -> list[dict]:
    """The persons the dialog showed and the signature left out, each with its reason: those
    of the user's area only (the document's page shows them to more than its signer)."""
    shown = permissions.person_shown(current_user, SigningBatchMember.person_id)
    return [
        {
            "person_id": m.person_id,
            "name": (m.snapshot or {}).get("full_name") or "",
            "reason": m.reason,
            "status": (m.detail or {}).get("status"),
            "fields": tuple((m.detail or {}).get("fields") or ()),
        }
        for m in services.batch_members(batch, shown)
        if m.reason is not None
    ]


@login_required
def post_open_dialog():
    """Open the sign dialog: store exactly the persons it shows (``SigningBatch``), which
    its PIN then signs whatever the page lists by then."""
    _require_signer()
    open_form = OpenDialogForm()
    filter_form = AwaitingFilterForm(
        formdata=None, status=open_form.status.data or "", q=open_form.q.data or ""
    )
    filter_form.day.data = _day(open_form.day.data) if open_form.day.data else None
    if not open_form.validate_on_submit() or not filter_form.validate():
        abort(400)
    if services.active_credential(current_user) is None:
        return _awaiting_page(
            filter_form,
            status=422,
            message=_(
                "You have no signing certificate. Ask the administrator to import one, or record "
                "the confirmation with minutes."
            ),
        )
    try:
        if permissions.can_sign_committee(current_user):
            batch = services.prepare_committee(current_user, _filters(filter_form))
        else:
            batch = services.prepare_site_daily(current_user, _day(filter_form.day.data))
    except services.SigningRefused as refused:
        db.session.rollback()
        return _awaiting_page(filter_form, status=422, message=str(refused))
    batch_id = batch.id
    db.session.commit()
    if is_fragment_request():
        batch = _batch_or_404(batch_id)
        return _awaiting_page(_batch_filters(batch), batch=batch)
    return redirect(url_for("signing.show_dialog", batch_id=batch_id), code=303)


@login_required
def show_dialog(batch_id: int):
    """The sign dialog of a stored list (a page of its own without htmx); once signed,
    its result."""
    _require_signer()
    batch = _batch_or_404(batch_id)
    if batch.state == BatchState.SIGNED and batch.document_id:
        return _awaiting_page(
            _batch_filters(batch),
            signed=db.session.get(SignedDocument, batch.document_id),
            skipped=skipped_of(batch),
        )
    return _awaiting_page(_batch_filters(batch), batch=batch)


@login_required
def preview_batch_pdf(batch_id: int):
    """Exactly the document the dialog's PIN signs (unsigned, marked as a preview)."""
    _require_signer()
    batch = _batch_or_404(batch_id)

    credential = services.active_credential(current_user)
    title = credential.title if credential else "Chủ tịch"
    snapshots = [{**m.snapshot, "person_id": m.person_id} for m in services.batch_members(batch)]
    if batch.kind == DocumentKind.SITE_DAILY:
        site = db.session.get(Site, batch.site_id)
        if site is None or batch.day is None:
            abort(404)
        built = documents.site_daily_list(
            site,
            batch.day,
            snapshots,
            current_user.display_name,
            title,
            "Số: ......./DS-CSTC",
            preview=True,
        )
        name = f"xem-truoc-ho-chieu-vac-xin-{batch.day:%Y%m%d}.pdf"
    else:
        commune = db.session.get(Area, batch.area_id)
        built = documents.committee_list(
            commune,
            snapshots,
            current_user.display_name,
            title,
            "Số: ......./DS-UBND",
            today_in_vietnam(),
            preview=True,
        )
        name = "xem-truoc-danh-sach-xac-nhan.pdf"
    return _pdf_response(built.content, name, inline=True)


@login_required
def post_sign(batch_id: int):
    """The PIN signs the dialog's persons (those still eligible), once."""
    _require_signer()
    batch = _batch_or_404(batch_id)
    filter_form = _batch_filters(batch)
    sign_form = SignForm()
    if not sign_form.validate_on_submit():
        return _awaiting_page(filter_form, sign_form, status=422, batch=batch)
    try:
        document, _checks = services.sign_batch(
            batch, current_user, sign_form.pin.data, otp=sign_form.otp.data
        )
    except services.SigningRefused as refused:
        # Keep the audit event of a refused PIN; the rest was rolled back (a savepoint).
        db.session.commit()
        sign_form.pin.data = ""
        batch = _batch_or_404(batch_id)
        if batch.state == BatchState.SIGNED and batch.document_id:  # a second submit
            return _awaiting_page(
                filter_form,
                status=409,
                message=str(refused),
                signed=db.session.get(SignedDocument, batch.document_id),
                skipped=skipped_of(batch),
            )
        return _awaiting_page(filter_form, sign_form, status=422, message=str(refused), batch=batch)
    document_id = document.id
    db.session.commit()
    if is_fragment_request():
        batch = _batch_or_404(batch_id)
        response = _awaiting_page(
            filter_form,
            status=200,
            signed=db.session.get(SignedDocument, document_id),
            skipped=skipped_of(batch),
            certificates_oob=True,
        )
        response.headers["HX-Trigger"] = "signed"  # the list below reloads itself
        return response
    flash(_("Signed: %(num)s persons confirmed.", num=document.member_count), "success")
    return redirect(url_for("signing.show_document", document_id=document_id), code=303)


def _document_or_404(document_id: int) -> tuple[SignedDocument, bool]:
    """The document, if the user may open it, and whether they see it whole (every member in
    their area) or reduced to their members: one query, the rule is signing's permissions."""
    row = db.session.execute(
        sa.select(SignedDocument, permissions.whole_document(current_user)).where(
            SignedDocument.id == document_id, permissions.document_scope(current_user)
        )
    ).first()
    if row is None:
        abort(404)
    return row[0], bool(row[1])


def _document_page(
    document: SignedDocument,
    whole: bool,
    form: RevokeForm | None = None,
    status: int = 200,
    message: str | None = None,
):
    members, hidden = services.document_members(
        document,
        None if whole else permissions.person_shown(current_user, DocumentMember.person_id),
    )
    revocation = services.revocation_event(document)
    # The banner names the revoker as people know them; the event keeps the user name.
    revoker = (
        db.session.get(User, revocation.actor_id) if revocation and revocation.actor_id else None
    )
    batch = queries.batch_of(document)
    return render(
        "signing/document.html",
        status=status,
        document=document,
        members=members,
        whole=whole,
        hidden=hidden,
        skipped=skipped_of(batch) if batch is not None else [],
        field_text=_field_text,
        status_labels=STATUS_LABELS,
        state=services.portal_state(document),
        state_labels=STATE_LABELS,
        kind_labels=KIND_LABELS,
        revocation=revocation,
        revoker=revoker,
        may_revoke=permissions.can_revoke(current_user, document, whole),
        revoke_form=form or RevokeForm(),
        message=message,
    )


@login_required
def show_document(document_id: int):
    return _document_page(*_document_or_404(document_id))


@login_required
def post_revoke(document_id: int):
    """Withdraw a signed document, with a reason; what was typed stays on a refusal."""
    document, whole = _document_or_404(document_id)
    if not permissions.can_revoke(current_user, document, whole):
        abort(403)
    form = RevokeForm()
    if not form.validate_on_submit():
        return _document_page(document, whole, form, status=422)
    try:
        reopened = services.revoke_document(document, form.reason.data)
    except services.SigningRefused as refused:
        db.session.rollback()
        return _document_page(
            *_document_or_404(document_id), form, status=422, message=str(refused)
        )
    db.session.commit()
    flash(
        _("The document was revoked: %(num)s persons need re-confirmation.", num=len(reopened)),
        "warning",
    )
    return redirect(url_for("signing.show_document", document_id=document_id), code=303)


@login_required
def download_document(document_id: int):
    document, whole = _document_or_404(document_id)
    if not whole:
        # The signed file names everyone on it, and cannot be cut down to the user's persons
        # without breaking its signature; the page lists theirs and says why.
        return error_response(
            403,
            _(
                "The signed file also names persons outside your area, so it cannot be "
                "downloaded here; the document's page lists the persons of your area."
            ),
        )
    try:
        content = services.stored_content(document)
    except services.SigningRefused as refused:
        return error_response(409, str(refused))
    return _pdf_response(content, download_name(document), mimetype=document.media_type)


def _minutes_or_404(minutes_id: int) -> Minutes:
    minutes = db.session.scalar(
        sa.select(Minutes).where(Minutes.id == minutes_id, permissions.minutes_scope(current_user))
    )
    if minutes is None:
        abort(404)
    return minutes


@login_required
def post_print_minutes():
    """Number and freeze the minutes for the persons the awaiting page lists now."""
    if not permissions.can_record_minutes(current_user):
        abort(403)
    form = MinutesPrintForm()
    filters_form = AwaitingFilterForm(
        formdata=None, status=form.status.data or "", q=form.q.data or ""
    )
    if not form.validate_on_submit() or not filters_form.validate():
        abort(400)
    try:
        minutes = services.print_minutes(current_user, _filters(filters_form))
    except services.SigningRefused as refused:
        db.session.rollback()
        return _awaiting_page(filters_form, status=422, message=str(refused))
    minutes_id = minutes.id
    db.session.commit()
    return redirect(url_for("signing.show_minutes", minutes_id=minutes_id), code=303)


def _field_text(fields: tuple[str, ...]) -> str:
    return ", ".join(dict.fromkeys(str(CHANGED_FIELD_LABELS.get(f, f)) for f in fields))


def _minutes_page(
    minutes: Minutes,
    status: int = 200,
    message: str | None = None,
    upload_form: MinutesForm | None = None,
):
    checks = services.check_minutes(minutes)
    return render(
        "signing/minutes.html",
        status=status,
        minutes=minutes,
        checks=checks,
        confirmable=sum(1 for c in checks if c.reason is None),
        upload_form=upload_form or MinutesForm(formdata=None),
        confirm_form=MinutesConfirmForm(formdata=None),
        message=message,
        status_labels=STATUS_LABELS,
        field_text=_field_text,
        minutes_state_labels=MINUTES_STATE_LABELS,
        birth_text=birth_text,
        confirmed_ids=queries.confirmed_person_ids(minutes),
        creator=db.session.get(User, minutes.created_by_id) if minutes.created_by_id else None,
    )


@login_required
def show_minutes(minutes_id: int):
    return _minutes_page(_minutes_or_404(minutes_id))


@login_required
def minutes_pdf(minutes_id: int):
    """The minutes exactly as printed (the same number, persons and bytes every time)."""
    minutes = _minutes_or_404(minutes_id)
    try:
        content = services.minutes_content(minutes)
    except services.SigningRefused as refused:
        return error_response(409, str(refused))
    return _pdf_response(content, f"bien-ban-xac-nhan-{minutes.id}.pdf", inline=True)


@login_required
def minutes_scan(minutes_id: int):
    minutes = _minutes_or_404(minutes_id)
    try:
        content = services.minutes_scan(minutes)
    except services.SigningRefused as refused:
        return error_response(409, str(refused))
    suffix = (minutes.scan_path or "x.pdf").rsplit(".", 1)[-1]
    return _pdf_response(
        content,
        f"bien-ban-da-ky-{minutes.id}.{suffix}",
        inline=True,
        mimetype=minutes.scan_media_type or "application/pdf",
    )


@login_required
def post_minutes_scan(minutes_id: int):
    """Attach the signed scan; the page then shows who will be confirmed."""
    minutes = _minutes_or_404(minutes_id)
    if not permissions.can_record_minutes(current_user):
        abort(403)
    form = MinutesForm()
    if not form.validate_on_submit():
        return _minutes_page(
            minutes,
            status=422,
            upload_form=form,
            message=_("Choose the scan of the signed minutes."),
        )
    content = form.scan.data.read(
        int(current_app.config.get("SIGNING_MAX_SCAN_BYTES") or 10 * 1024 * 1024) + 1
    )
    try:
        services.upload_minutes_scan(minutes, current_user, content)
    except services.SigningRefused as refused:
        db.session.rollback()
        return _minutes_page(
            _minutes_or_404(minutes_id), status=422, upload_form=form, message=str(refused)
        )
    db.session.commit()
    return redirect(
        url_for("signing.show_minutes", minutes_id=minutes_id, _anchor="confirm"), code=303
    )


@login_required
def post_minutes_confirm(minutes_id: int):
    """Confirm the persons of these minutes that are still eligible (once)."""
    minutes = _minutes_or_404(minutes_id)
    if not permissions.can_record_minutes(current_user):
        abort(403)
    if not MinutesConfirmForm().validate_on_submit():
        abort(400)
    try:
        document = services.confirm_minutes(minutes, current_user)
    except services.SigningRefused as refused:
        db.session.rollback()
        return _minutes_page(_minutes_or_404(minutes_id), status=409, message=str(refused))
    document_id, count = document.id, document.member_count
    db.session.commit()
    flash(_("The minutes were recorded: %(num)s persons confirmed.", num=count), "success")
    return redirect(url_for("signing.show_document", document_id=document_id), code=303)


@login_required
def post_certificates():
    """Per-person certificates for the commune's confirmed persons, as a queue job."""
    if not permissions.can_sign_certificates(current_user):
        abort(403)

    sign_form = SignForm()
    if not sign_form.validate_on_submit():
        return _awaiting_page(
            AwaitingFilterForm(formdata=None),
            status=422,
            message=_("Type the PIN of your signing key."),
            message_at="certificates",
        )
    try:
        services.unlock(current_user, sign_form.pin.data)
    except services.SigningRefused as refused:
        db.session.commit()
        return _awaiting_page(
            AwaitingFilterForm(formdata=None),
            status=422,
            message=str(refused),
            message_at="certificates",
        )
    try:
        job = jobs.start_certificates(current_user)
    except services.SigningRefused as refused:
        db.session.rollback()
        return _awaiting_page(
            AwaitingFilterForm(formdata=None),
            status=422,
            message=str(refused),
            message_at="certificates",
        )
    job_id = job.id
    db.session.commit()
    jobs.enqueue_with_pin(job_id, sign_form.pin.data, sign_form.otp.data)
    return redirect(url_for("jobs.show_job", job_id=job_id), code=303)


# --- public verification --------------------------------------------------------------------


def _verify_page(
    form: VerifyForm,
    status: int = 200,
    verdict=None,
    state=None,
    message: str | None = None,
    source: str | None = None,
):
    return render(
        "signing/verify.html",
        {"verify-result": "result"},
        status=status,
        form=form,
        verdict=verdict,
        state=state,
        message=message,
        source=source,
        outcome=services.outcome(verdict, state),
        modification_text=modification_text,
        state_labels=STATE_LABELS,
        verdict_messages=VERDICT_MESSAGES,
        demo_roots=services.demo_root_fingerprints(),
    )


def show_verify():
    return _verify_page(VerifyForm(formdata=None))


def _anonymous_wait() -> int | None:
    """Seconds an anonymous client must wait after too many verifications in the window,
    or None. Counted in the database with the complaint form's helper, so every worker
    counts together; committed at once, so a refused request counts too. Staff logged in
    are not limited."""
    if current_user.is_authenticated:
        return None
    config = current_app.config
    window = timedelta(minutes=config["VERIFY_RATE_WINDOW_MINUTES"])
    allowed = feedback_services.hit(
        f"verify:{request.remote_addr or '-'}", config["VERIFY_RATE_LIMIT"], window
    )
    db.session.commit()
    if allowed:
        return None
    end = feedback_services.window_start(window) + window
    return max(1, int((end - utcnow()).total_seconds()) + 1)


def _too_many(wait: int):
    response = _verify_page(
        VerifyForm(formdata=None),
        status=429,
        message=_(
            "Too many verifications from your connection. Please try again in %(minutes)s minutes.",
            minutes=max(1, -(-wait // 60)),
        ),
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _record(document, verdict, source: str, sha256: str) -> None:
    """Staff's verifications are audit events; an anonymous one is a count (issue 14)."""
    if current_user.is_authenticated:
        services.record_verification(document, verdict, source, sha256)
    else:
        services.count_verification(document, source)


def post_verify():
    wait = _anonymous_wait()
    if wait is not None:
        return _too_many(wait)
    form = VerifyForm()
    if not form.validate_on_submit():
        return _verify_page(form, status=422)
    content = form.document.data.read()
    document = services.document_by_hash(content)
    state = services.portal_state(document) if document is not None else None
    verdict = services.verify_cached(content, state)
    if not verdict.readable:
        document = state = None
    _record(document, verdict, "upload", hashlib.sha256(content).hexdigest())
    db.session.commit()
    return _verify_page(form, verdict=verdict, state=state, source="upload")


@writes  # the rate count, the verification (SQLite: BEGIN IMMEDIATE)
def verify_code(code: str):
    """The link in the certificate's QR code: the stored document, checked afresh (or its
    cached verdict, while its bytes, state and the trust roots are the same)."""
    wait = _anonymous_wait()
    if wait is not None:
        return _too_many(wait)
    document = services.document_by_code(code)
    if document is None:
        abort(404)
    try:
        content = services.stored_content(document)
    except services.SigningRefused as refused:
        return error_response(409, str(refused))
    state = services.portal_state(document)
    verdict = (
        services.verify_cached(content, state) if document.media_type == "application/pdf" else None
    )
    _record(document, verdict, "code", document.sha256)
    db.session.commit()
    return _verify_page(VerifyForm(formdata=None), verdict=verdict, state=state, source="code")


# --- the police sign their handover list ----------------------------------------------------


def _handover_or_404(worklist_id: int):
    worklist = db.session.scalar(
        sa.select(Worklist).where(Worklist.id == worklist_id, handover_scope(current_user))
    )
    if worklist is None:
        abort(404)
    return worklist


def _handover_page(worklist, form: SignForm, status: int = 200, message: str | None = None):
    signed = services.handover_document(worklist.id)
    return render(
        "signing/handover.html",
        status=status,
        worklist=worklist,
        form=form,
        message=message,
        signed=signed,
        credential=services.active_credential(current_user),
    )


@login_required
def show_handover_signing(worklist_id: int):
    worklist = _handover_or_404(worklist_id)
    if not permissions.can_sign_handover(current_user, worklist):
        abort(403)
    return _handover_page(worklist, SignForm(formdata=None))


@login_required
def post_handover_signing(worklist_id: int):
    worklist = _handover_or_404(worklist_id)
    if not permissions.can_sign_handover(current_user, worklist):
        abort(403)
    form = SignForm()
    if not form.validate_on_submit():
        return _handover_page(worklist, form, status=422)
    try:
        services.sign_handover(current_user, form.pin.data, worklist, otp=form.otp.data)
    except services.SigningRefused as refused:
        db.session.commit()  # keeps a refused PIN's audit event; nothing else was written
        return _handover_page(worklist, SignForm(formdata=None), status=422, message=str(refused))
    db.session.commit()
    flash(_("The handover list is signed."), "success")
    return redirect(url_for("worklists.show_handover", worklist_id=worklist_id), code=303)


# --- the account's signing method and remote credential: on the account pages -------------


def _managed_or_404(account_id: int) -> User:
    account = db.get_or_404(User, account_id)
    if not account_permissions.can_manage_accounts(current_user):
        abort(403)
    if not account_permissions.manages(current_user, account):
        abort(404)
    return account


def account_signing(account: User, method_form=None, link_form=None) -> dict:
    """For the account page (auth knows nothing of signing): its method, its credentials
    and the two forms that change them."""
    if method_form is None:
        method_form = SigningMethodForm(
            formdata=None, method=account.signing_method.value if account.signing_method else ""
        )
    method_form.method.choices = [SelectChoice("", _("Not chosen"))] + [
        SelectChoice(m.value, str(METHOD_LABELS[m])) for m in services.method_choices()
    ]
    credentials = services.credentials_of(account)
    return {
        "method_form": method_form,
        "link_form": link_form or CscLinkForm(formdata=None),
        "credentials": credentials,
        "method_label": METHOD_LABELS.get(account.signing_method)
        if account.signing_method
        else None,
        "server_allowed": services.allow_server_keys(),
        "method_of": services.method_of,
        "labels": METHOD_LABELS,
    }


@login_required
def post_signing_method(account_id: int):
    """The administrator sets how the account signs (remote, browser, server key)."""
    account = _managed_or_404(account_id)
    form = SigningMethodForm()
    form.method.choices = [SelectChoice("", "")] + [
        SelectChoice(m.value, m.value) for m in services.method_choices()
    ]
    if not form.validate_on_submit():
        flash(_("This signing method cannot be chosen here."), "warning")
        return redirect(url_for("auth.show_account", account_id=account.id), code=303)
    method = SigningMethod(form.method.data) if form.method.data else None
    try:
        changes = services.set_signing_method(account, method, actor=current_user)
    except services.SigningRefused as refused:
        db.session.rollback()
        flash(str(refused), "warning")
        return redirect(url_for("auth.show_account", account_id=account.id), code=303)
    db.session.commit()
    flash(_("Signing method saved.") if changes else _("Nothing changed."), "success")
    return redirect(url_for("auth.show_account", account_id=account.id), code=303)


@login_required
def post_csc_link(account_id: int):
    """Link the account to a remote-signing provider's credential (its certificates are
    read from the provider now)."""
    account = _managed_or_404(account_id)
    form = CscLinkForm()
    if not form.validate_on_submit():
        flash(
            _("Give the provider's address, the credential ID, the title and the unit."), "warning"
        )
        return redirect(url_for("auth.show_account", account_id=account.id), code=303)
    try:
        credential = services.add_csc_credential(
            account,
            form.provider_url.data,
            form.credential_id.data,
            form.title.data,
            form.unit.data,
            actor=current_user,
        )
    except services.SigningRefused as refused:
        db.session.rollback()
        flash(str(refused), "warning")
        return redirect(url_for("auth.show_account", account_id=account.id), code=303)
    subject = credential.subject
    db.session.commit()
    flash(_("Remote signing credential linked: %(subject)s", subject=subject), "success")
    return redirect(url_for("auth.show_account", account_id=account.id), code=303)


# --- a signing key locked by wrong PINs: shown on the administrators' account pages -------


def signing_method_label(credential) -> str:
    """The method a credential signs by, in words (the signing pages)."""
    return str(METHOD_LABELS[services.method_of(credential)])


def locked_signers(user_ids: list[int]) -> set[int]:
    """For the account pages (auth knows nothing of signing): whose signing key is locked."""
    return services.locked_signers(list(user_ids))


def locked_signing_credential(user_id: int):
    return services.locked_credential(user_id)


@login_required
def post_unlock_credential(account_id: int):
    """An administrator unlocks the account's signing key that wrong PINs locked."""
    account = db.get_or_404(User, account_id)
    if not account_permissions.can_manage_accounts(current_user):
        abort(403)
    if not account_permissions.manages(current_user, account):
        abort(404)
    if not UnlockCredentialForm().validate_on_submit():
        abort(400)
    try:
        services.unlock_credential(account, actor=current_user)
    except services.SigningRefused as refused:
        db.session.rollback()
        flash(str(refused), "warning")
        return redirect(url_for("auth.show_account", account_id=account.id), code=303)
    db.session.commit()
    flash(_("The signing key of %(user)s is unlocked.", user=account.username), "success")
    return redirect(url_for("auth.show_account", account_id=account.id), code=303)
