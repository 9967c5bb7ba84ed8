"""Signing with the key in the signer's browser: its enrolment page, and the two calls the
sign dialog makes (prepare, finish) from static/js/portal-signer.js. The calls answer JSON:
what the browser signs, or the page to go to, or a refusal's message (in Vietnamese)."""

from __future__ import annotations

import base64
import binascii

import sqlalchemy as sa
from flask import abort, jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.core.rendering import render
from portal.extensions import db
from portal.signing import browser, permissions, services
from portal.signing.forms import BrowserFinishForm, BrowserKeyForm, BrowserPrepareForm
from portal.signing.models import SigningBatch
from portal.signing.routes import _batch_or_404, _handover_or_404, _require_signer


def _refusal(message: str, status: int = 422):
    return jsonify(error=message), status


@login_required
def show_browser_key():
    """The signing key of this browser: enrol one, or see the one enrolled."""
    if not permissions.can_enrol_browser_key(current_user):
        abort(403)
    return render(
        "signing/browser_key.html",
        {},
        credential=services.active_credential(current_user),
        can_sign_lists=permissions.can_sign_anything(current_user),
    )


@login_required
def post_browser_key():
    """Certify the browser's new key (its PKCS#10 request); the portal keeps the
    certificate only."""
    if not permissions.can_enrol_browser_key(current_user):
        abort(403)
    form = BrowserKeyForm()
    if not form.validate_on_submit():
        return _refusal(_("The certificate request is missing or the page has expired."), 400)
    try:
        data = base64.b64decode(form.csr.data, validate=True)
    except (binascii.Error, ValueError):
        data = form.csr.data.encode()  # perhaps PEM: read_csr says whether it is
    try:
        credential = browser.enrol(current_user, data)
    except services.SigningRefused as refused:
        db.session.commit()  # the refusal's audit event
        return _refusal(str(refused))
    pem = credential.certificate_pem
    db.session.commit()
    return jsonify(certificate=pem, redirect=url_for("signing.show_browser_key"))


@login_required
def post_browser_prepare(batch_id: int):
    """Prepare the dialog's document for the browser's key: the signed attributes to sign
    (base64 DER), their SHA-256, and the prepared document's SHA-256."""
    _require_signer()
    batch = _batch_or_404(batch_id)
    return _prepare(lambda: browser.prepare_batch(batch, current_user))


@login_required
def post_browser_prepare_handover(worklist_id: int):
    """Prepare a handed-over list for the police officer's browser key (as above)."""
    worklist = _handover_or_404(worklist_id)
    if not permissions.can_sign_handover(current_user, worklist):
        abort(403)
    return _prepare(lambda: browser.prepare_handover(worklist, current_user))


def _prepare(prepare):
    """The form checked, then ``prepare()``: its answer for the browser, or its refusal
    (whose audit event is kept; nothing else was)."""
    if not BrowserPrepareForm().validate_on_submit():
        return _refusal(_("The page has expired: open the sign dialog again."), 400)
    try:
        prepared = prepare()
    except services.SigningRefused as refused:
        db.session.commit()
        return _refusal(str(refused))
    answer = _prepared_answer(prepared)
    db.session.commit()
    return jsonify(answer)


def _prepared_answer(prepared) -> dict:
    return {
        "token": prepared.token,
        "to_be_signed": base64.b64encode(prepared.signed_attrs).decode(),
        "digest": prepared.to_sign_sha256,
        "document_sha256": prepared.document_sha256,
        "expires_at": prepared.expires_at.isoformat() + "Z",
        "finish_url": url_for("signing.post_browser_finish", token=prepared.token),
    }


@login_required
def post_browser_finish(token: str):
    """The browser's signature of a prepared document: embedded once, then the persons
    confirmed; the answer names the page that shows the result (the dialog's, or the
    handover list's signing page). Who may finish is the prepared signature's own user."""
    if not permissions.signs_documents(current_user):
        abort(403)
    form = BrowserFinishForm()
    if not form.validate_on_submit():
        return _refusal(_("The signature is missing or the page has expired."), 400)
    try:
        signature = base64.b64decode(form.signature.data, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    try:
        document = browser.finish(token, current_user, signature, form.document_sha256.data)
    except services.SigningRefused as refused:
        db.session.commit()  # the refusal's audit event; the rest was rolled back
        return _refusal(str(refused))
    batch_id = db.session.scalar(
        sa.select(SigningBatch.id).where(SigningBatch.document_id == document.id)
    )
    if batch_id is not None:
        redirect = url_for("signing.show_dialog", batch_id=batch_id)
    elif document.worklist_id is not None:
        redirect = url_for("signing.show_handover_signing", worklist_id=document.worklist_id)
    else:
        redirect = url_for("signing.show_document", document_id=document.id)
    db.session.commit()
    return jsonify(document_id=document.id, redirect=redirect)
