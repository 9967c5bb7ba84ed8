"""Signing with a key the portal never sees: a key made and kept in the signer's browser
(WebCrypto; or a USB token's plugin that the page calls instead, static/js/portal-signer.js).

Enrolment: the browser sends a PKCS#10 request signed by its new key; the demo CA certifies
the key (``demo.issue_certificate``) and the portal keeps the certificate only (a
credential of backend ``browser``). Signing, in two steps (pyHanko's interrupted signing,
portal/signing/interrupted.py): ``prepare`` builds the PDF the server-key path builds and
keeps it with its signed attributes (``PreparedSignature``); the browser signs the signed
attributes; ``finish`` checks that signature against the enrolled certificate, embeds it
with its time-stamp and does what the server-key path does after signing.

Every refusal is audited (``signing.refused`` with its reason) and leaves nothing else
written; the caller commits the event and shows the message.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.audit import services as audit
from portal.auth.models import User
from portal.core.accounts import SigningMethod
from portal.core.clock import utcnow
from portal.core.sql import locked
from portal.extensions import db
from portal.signing import backends, core, demo, demo_pki, documents, interrupted, services
from portal.signing.models import (
    BatchState,
    DocumentKind,
    PreparedSignature,
    SignedDocument,
    SignerBackend,
    SigningBatch,
    SigningCredential,
)
from portal.worklists.models import Worklist

CSR_MAX_BYTES = 8 * 1024
METHOD = SigningMethod.BROWSER


class BrowserRefused(services.SigningRefused):
    """A refusal with the reason its audit event records."""

    def __init__(self, message: Any, reason: str):
        super().__init__(message)
        self.reason = reason


def prepared_minutes() -> int:
    return int(current_app.config.get("SIGNING_PREPARED_MINUTES") or 5)


def _refused(user: User, reason: str, **details: Any) -> None:
    audit.record(
        "signing.refused",
        "user",
        user.id,
        {"reason": [None, reason], "method": [None, METHOD]}
        | {key: [None, value] for key, value in details.items()},
        actor=user,
    )


# --- enrolment ------------------------------------------------------------------------------


def key_description(key: Any) -> str | None:
    """``P-256`` or ``RSA-<bits>`` for a key a browser or token may sign with; None for any
    other key (a curve other than P-256, RSA under 2048 bits, EdDSA, DSA)."""
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return "P-256"
    if isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048:
        return f"RSA-{key.key_size}"
    return None


def read_csr(data: bytes) -> x509.CertificateSigningRequest:
    if len(data) > CSR_MAX_BYTES:
        raise BrowserRefused(_l("The certificate request is too large."), "bad_csr")
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_csr(data)
        return x509.load_der_x509_csr(data)
    except ValueError as error:
        raise BrowserRefused(
            _l("This is not a certificate request (PKCS#10) that the portal can read."), "bad_csr"
        ) from error


def enrol(user: User, data: bytes) -> SigningCredential:
    """Certify the key of the user's browser: the request must be signed by its own key, a
    P-256 or RSA (2048 bits or more) key; the certificate becomes the user's signing
    credential (earlier ones stop being used). The portal keeps no key."""
    try:
        csr = read_csr(data)
        try:
            signature_ok = csr.is_signature_valid
            key = csr.public_key()
        except (ValueError, TypeError) as error:  # an unknown key or signature algorithm
            raise BrowserRefused(
                _l("The key of this certificate request is not one the portal accepts."),
                "bad_csr_key",
            ) from error
        kind = key_description(key)
        if kind is None:
            raise BrowserRefused(
                _l(
                    "The key of this certificate request is not accepted: only ECDSA P-256 "
                    "keys or RSA keys of at least 2048 bits can sign."
                ),
                "bad_csr_key",
            )
        if not signature_ok:
            raise BrowserRefused(
                _l("The certificate request is not signed by its own key."), "bad_csr_signature"
            )
    except BrowserRefused as refused:
        _refused(user, refused.reason, bytes=len(data))
        raise
    title, unit = demo.signer_title(user)
    assert isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
    cert = demo.issue_certificate(key, user.display_name, title, unit)
    chain = demo_pki.chain(services.demo_pki_dir())
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [cert, *chain])
    return services._add_credential(
        user,
        SignerBackend.BROWSER,
        cert,
        pem.decode(),
        title,
        unit,
        True,  # certified by the demo CA
        user,
        extra={"key": [None, kind]},
    )


# --- signing --------------------------------------------------------------------------------


def browser_credential(user: User) -> SigningCredential | None:
    credential = services.active_credential(user)
    if credential is None or credential.backend != SignerBackend.BROWSER:
        return None
    return credential


def _usable_credential(user: User) -> SigningCredential:
    credential = browser_credential(user)
    if credential is None:
        raise BrowserRefused(
            _l("You have no key enrolled in a browser: enrol one on the signing key page."),
            "no_browser_key",
        )
    if credential.not_after < utcnow():
        raise BrowserRefused(
            _l("Your signing certificate has expired; enrol a new key."), "certificate_expired"
        )
    services._refuse_revoked(credential, user)  # audited there; SIGNING_REVOCATION_FETCH
    return credential


def prepare_batch(batch: SigningBatch, user: User) -> PreparedSignature:
    """The dialog's document, prepared for the user's browser key: the persons still
    eligible now, in the PDF the server-key path would sign, and the signed attributes
    the browser signs. Expires after SIGNING_PREPARED_MINUTES."""
    try:
        credential = _usable_credential(user)
        if batch.state != BatchState.OPEN:
            raise BrowserRefused(_l("This list has already been signed."), "already_signed")
        checks = services.check_batch(batch)
        eligible = [c.member for c in checks if c.reason is None]
        if not eligible:
            raise BrowserRefused(
                _l("Nobody on this list can still be confirmed."), "nobody_eligible"
            )
    except BrowserRefused as refused:
        _refused(user, refused.reason, batch_id=batch.id)
        raise
    snapshots = [{**m.snapshot, "person_id": m.person_id} for m in eligible]
    spec = services.batch_document(batch)
    prepared = _new_prepared(
        user,
        credential,
        spec.kind,
        spec.title,
        [s["person_id"] for s in snapshots],
        batch_id=batch.id,
    )

    def build(number: str) -> documents.Built:
        # Numbered in a series of its own: the document's id exists only once it is signed.
        return spec.build(snapshots, user, credential, f"{number}-TD")

    _prepare(prepared, user, credential, build, spec.reason, spec.location)
    audit.record(
        "signing.browser_prepare",
        "signing_batch",
        batch.id,
        _prepared_changes(prepared, credential, len(snapshots)),
        actor=user,
    )
    return prepared


def prepare_handover(worklist: Any, user: User) -> PreparedSignature:
    """A handed-over list, prepared for the police officer's browser key: its frozen PDF
    with the signature placeholder (the signed file begins with the frozen bytes)."""
    try:
        credential = _usable_credential(user)
        try:
            services.check_handover(worklist)
        except services.SigningRefused as refused:
            raise BrowserRefused(refused.args[0], "handover_not_signable") from refused
    except BrowserRefused as refused:
        _refused(user, refused.reason, worklist_id=worklist.id)
        raise
    built = services.handover_frozen(worklist)
    prepared = _new_prepared(
        user, credential, DocumentKind.HANDOVER_LIST, worklist.title, [], worklist_id=worklist.id
    )
    _prepare(
        prepared,
        user,
        credential,
        lambda _number: built,
        services.HANDOVER_REASON,
        worklist.area.name,
    )
    audit.record(
        "signing.browser_prepare",
        "worklist",
        worklist.id,
        _prepared_changes(prepared, credential, None),
        actor=user,
    )
    return prepared


def _new_prepared(
    user: User,
    credential: SigningCredential,
    kind: DocumentKind,
    title: str,
    member_ids: list[int],
    batch_id: int | None = None,
    worklist_id: int | None = None,
) -> PreparedSignature:
    now = utcnow()
    # Preparations left unsigned for a day are of no use: forgotten (their PDFs with them).
    db.session.execute(
        sa.delete(PreparedSignature)
        .where(
            PreparedSignature.user_id == user.id,
            PreparedSignature.finished_at.is_(None),
            PreparedSignature.expires_at < now - timedelta(days=1),
        )
        .execution_options(synchronize_session=False)
    )
    return PreparedSignature(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        credential_id=credential.id,
        batch_id=batch_id,
        worklist_id=worklist_id,
        kind=kind.value,
        member_ids=member_ids,
        title=title[:300],
        level=services.signing_level(),
        content=b"",
        reserved_start=0,
        reserved_end=0,
        document_digest="",
        document_sha256="",
        signed_attrs=b"",
        to_sign_sha256="",
        created_at=now,
        expires_at=now + timedelta(minutes=prepared_minutes()),
    )


def _prepared_changes(
    prepared: PreparedSignature, credential: SigningCredential, members: int | None
) -> dict[str, Any]:
    return {
        "method": [None, METHOD],
        "prepared_id": [None, prepared.id],
        "serial": [None, credential.serial],
        "members": [None, members],
        "prepared_sha256": [None, prepared.document_sha256],
    }


def _prepare(
    prepared: PreparedSignature,
    user: User,
    credential: SigningCredential,
    build: Callable[[str], documents.Built],
    reason: str,
    location: str,
) -> None:
    """The document built (``build`` gets the preparation's number), its signature field
    and stamp placed, its signed attributes made; kept on ``prepared``. A document that
    cannot be prepared keeps nothing (a savepoint), not even its row."""
    with db.session.begin_nested():
        db.session.add(prepared)
        db.session.flush()
        built = build(str(prepared.id))
        stamp = core.Stamp(
            user.display_name, credential.title, credential.unit, built.slot.page, built.slot.box
        )
        try:
            result = interrupted.prepare_pdf(
                built.content,
                backends.certificate_chain(credential),
                stamp,
                level=prepared.level,
                reason=reason,
                location=location,
            )
        except Exception as error:  # pyHanko's errors are of many kinds: say so, keep nothing
            current_app.logger.exception("preparing signature %s failed", prepared.id)
            raise services.SigningRefused(
                _l("The document could not be prepared: %(error)s", error=str(error)[:200])
            ) from error
        prepared.content = result.content
        prepared.reserved_start = result.reserved_start
        prepared.reserved_end = result.reserved_end
        prepared.document_digest = result.document_digest.hex()
        prepared.document_sha256 = hashlib.sha256(result.content).hexdigest()
        prepared.signed_attrs = result.signed_attrs
        prepared.to_sign_sha256 = result.to_sign_sha256
        db.session.flush()


def finish(
    token: str, user: User, signature: bytes, document_sha256: str, timestamper: Any = None
) -> SignedDocument:
    """Embed the browser's signature of a prepared document and do what the server-key
    path does after signing, once. Refused, each with its audited reason: an unknown token
    or another user's, one finished already (a replay), one expired, a hash of another
    document, a credential changed since, a signature that is not the enrolled key's of
    exactly these signed attributes, the list signed meanwhile or its persons changed."""
    prepared = db.session.scalar(
        sa.select(PreparedSignature).where(PreparedSignature.token == token)
    )
    try:
        if prepared is None or prepared.user_id != user.id:
            raise BrowserRefused(
                _l("This prepared signature does not exist or is not yours. Nothing was signed."),
                "prepared_unknown",
            )
        if prepared.finished_at is not None:
            raise BrowserRefused(
                _l("This prepared signature has already been used. Nothing was signed again."),
                "prepared_replayed",
            )
        if prepared.expires_at < utcnow():
            raise BrowserRefused(
                _l(
                    "This prepared signature has expired (after %(num)d minutes). Nothing was "
                    "signed: sign again.",
                    num=prepared_minutes(),
                ),
                "prepared_expired",
            )
        if document_sha256.lower() != prepared.document_sha256:
            raise BrowserRefused(
                _l("The signature is for another document. Nothing was signed."), "other_document"
            )
        credential = services.active_credential(user)
        if credential is None or credential.id != prepared.credential_id:
            raise BrowserRefused(
                _l("Your signing key changed since the document was prepared: sign again."),
                "credential_changed",
            )
        chain = backends.certificate_chain(credential)
        der = interrupted.signature_der(chain[0], signature)
        try:
            interrupted.check_signature(chain[0], prepared.signed_attrs, der)
        except interrupted.BadSignature as error:
            raise BrowserRefused(
                _l(
                    "The signature does not verify against your enrolled certificate. Nothing "
                    "was signed."
                ),
                "bad_signature",
            ) from error
        with db.session.begin_nested():
            _claim(prepared)
            if prepared.worklist_id is not None:
                document = _finish_handover(prepared, user, credential, chain, der, timestamper)
            else:
                document = _finish_batch(prepared, user, credential, chain, der, timestamper)
            db.session.execute(
                sa.update(PreparedSignature)
                .where(PreparedSignature.id == prepared.id)
                .values(document_id=document.id)
                .execution_options(synchronize_session=False)
            )
            db.session.flush()
            return document
    except BrowserRefused as refused:
        _refused(
            user,
            refused.reason,
            prepared_id=prepared.id if prepared is not None else None,
            batch_id=prepared.batch_id if prepared is not None else None,
            worklist_id=prepared.worklist_id if prepared is not None else None,
        )
        raise


def _claim(prepared: PreparedSignature) -> None:
    """Finished once: a conditional UPDATE (a row lock on PostgreSQL, the write lock on
    SQLite); of two finishes at once, the second finds it finished."""
    claimed: Any = db.session.execute(
        sa.update(PreparedSignature)
        .where(PreparedSignature.id == prepared.id, PreparedSignature.finished_at.is_(None))
        .values(finished_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise BrowserRefused(
            _l("This prepared signature has already been used. Nothing was signed again."),
            "prepared_replayed",
        )


def _embed(
    prepared: PreparedSignature,
    chain: list[x509.Certificate],
    der: bytes,
    timestamper: Any,
) -> bytes:
    tsa = timestamper if timestamper is not None else services.tsa_config().timestamper()
    try:
        return interrupted.finish_pdf(
            interrupted.Prepared(
                content=prepared.content,
                reserved_start=prepared.reserved_start,
                reserved_end=prepared.reserved_end,
                document_digest=bytes.fromhex(prepared.document_digest),
                signed_attrs=prepared.signed_attrs,
            ),
            chain,
            der,
            tsa,
            level=prepared.level,
            trust_roots=services.trust_roots(),
            fetch=services.revocation_fetch(),
        )
    except Exception as error:  # TSA unreachable: say so, sign nothing
        current_app.logger.exception("finishing prepared signature %s failed", prepared.id)
        raise services.SigningRefused(
            _l("The document could not be signed: %(error)s", error=str(error)[:200])
        ) from error


def _finish_batch(
    prepared: PreparedSignature,
    user: User,
    credential: SigningCredential,
    chain: list[x509.Certificate],
    der: bytes,
    timestamper: Any,
) -> SignedDocument:
    batch = db.session.get(SigningBatch, prepared.batch_id)
    if batch is None or not services._claim(
        batch, (BatchState.OPEN,), BatchState.SIGNED, signed_at=utcnow()
    ):
        raise BrowserRefused(_l("This list has already been signed."), "already_signed")
    checks = services.check_batch(batch, lock=True)
    eligible = [c.member for c in checks if c.reason is None]
    if [m.person_id for m in eligible] != list(prepared.member_ids):
        raise BrowserRefused(
            _l(
                "The persons of this list changed after the document was prepared. Nothing "
                "was signed: sign again."
            ),
            "list_changed",
        )
    snapshots = [{**m.snapshot, "person_id": m.person_id} for m in eligible]
    spec = services.batch_document(batch)
    document = services._new_document(
        spec.kind, spec.area_id, prepared.title, user, site_id=spec.site_id
    )
    signed = _embed(prepared, chain, der, timestamper)
    services._mark_signed(document, credential, user.display_name)
    document.level = prepared.level
    services._store_document(document, signed)
    services._record_batch_signature(batch, document, snapshots, checks, user, METHOD)
    return document


def _finish_handover(
    prepared: PreparedSignature,
    user: User,
    credential: SigningCredential,
    chain: list[x509.Certificate],
    der: bytes,
    timestamper: Any,
) -> SignedDocument:
    worklist = db.session.get(Worklist, prepared.worklist_id)
    if worklist is None:
        raise BrowserRefused(_l("This list has already been signed."), "already_signed")
    locked(worklist)  # two signatures of one list at once: the second waits, then finds it
    if services.handover_document(worklist.id) is not None:
        raise BrowserRefused(_l("This list has already been signed."), "already_signed")
    document = services._new_document(
        DocumentKind.HANDOVER_LIST, worklist.area_id, worklist.title, user, worklist_id=worklist.id
    )
    signed = _embed(prepared, chain, der, timestamper)
    services._mark_signed(document, credential, user.display_name)
    document.level = prepared.level
    services._store_document(document, signed)
    services._record_handover_signature(document, worklist, user, METHOD)
    return document
