"""Batch signing on the task queue: per-person certificates for a commune, with progress;
and the audit trail's periodic checkpoint.

The PIN must reach the worker without being stored: it travels only inside the queued task,
sealed with a key derived from SECRET_KEY, and the task is deleted from the queue once taken.
The job row (which the progress page reads) never holds it.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

from flask import current_app, has_request_context, request
from huey import crontab

from portal.auth.models import User
from portal.core.clock import format_birth
from portal.extensions import db
from portal.jobs.models import Job
from portal.jobs.queue import app_for_task, carries_a_job, huey
from portal.jobs.services import Owner, Progress, create_job, execute, handler
from portal.records.models import Person
from portal.signing import backends, checkpoints, permissions, services
from portal.signing.models import SignedDocument, SignerBackend, SigningCredential

_pin: contextvars.ContextVar[str | None] = contextvars.ContextVar("signing_pin", default=None)
_otp: contextvars.ContextVar[str | None] = contextvars.ContextVar("signing_otp", default=None)
COMMIT_EVERY = 25
LISTED = 500  # certificates listed by name on the job's page; the rest are counted


def start_certificates(user: User) -> Job:
    """Refused in production without PUBLIC_BASE_URL; in development the worker prints
    the address the request came to in the QR codes (it has no request of its own)."""
    services.require_public_base_url()
    params: dict[str, Any] = {"user_id": user.id}
    if not current_app.config.get("PUBLIC_BASE_URL") and has_request_context():
        params["base_url"] = request.url_root
    return create_job("sign_certificates", user.area_id, params, actor=user)


def enqueue_with_pin(job_id: int, pin: str, otp: str | None = None) -> None:
    huey.immediate = bool(current_app.config.get("HUEY_IMMEDIATE"))
    secrets = json.dumps({"pin": pin, "otp": otp or None})
    run_signing_job(job_id, backends.seal(secrets.encode()))


@carries_a_job
@huey.task()
def run_signing_job(job_id: int, sealed_pin: bytes) -> None:
    with app_for_task().app_context():
        secrets = json.loads(backends.unseal(sealed_pin))
        token = _pin.set(secrets["pin"])
        otp_token = _otp.set(secrets.get("otp"))
        try:
            execute(job_id)
        finally:
            _otp.reset(otp_token)
            _pin.reset(token)


def sign_certificates(
    user: User,
    pin: str,
    progress: Progress | None = None,
    written: list[str] | None = None,
    base_url: str | None = None,
    otp: str | None = None,
) -> dict[str, Any]:
    """Certificates for the user's commune's confirmed persons that have none. The key is
    unlocked once and the TSA client made once for the whole batch; work is committed every
    few documents so that the progress bar moves and a failure keeps what was done."""
    services.require_public_base_url()
    credential, signer = services.unlock(user, pin, otp=otp)
    timestamper = services.tsa_config().timestamper()
    person_ids = services.confirmed_without_certificate(user.area_id)
    total = len(person_ids)
    done = already = 0
    signed: list[dict[str, Any]] = []
    if progress:
        progress(0, total)
    size = chunk_size(credential)
    for start in range(0, total, size):
        chunk = [p for i in person_ids[start : start + size] if (p := db.session.get(Person, i))]
        before = done + already
        # A refused chunk leaves nothing of itself (its audit event stays); the chunks
        # before it are committed by the progress reports.
        with services.provider_refusals(user, credential), db.session.begin_nested():
            pairs, skipped = services.sign_certificates_together(
                user, credential, signer, chunk, timestamper=timestamper, base_url=base_url
            )
        # Another batch at once certified the skipped ones: counted, not signed twice.
        already += skipped + (min(size, total - start) - len(chunk))
        done += len(pairs)
        for document, person in pairs:
            _listed(document, person, signed, written)
        if progress and (
            (done + already) // COMMIT_EVERY != before // COMMIT_EVERY or done + already == total
        ):
            progress(done + already, total)
    # The job's page lists what was signed, each certificate by its person's name, and
    # counts those another batch certified meanwhile.
    return {"signed": done, "already": already, "documents": signed}


def chunk_size(credential: SigningCredential) -> int:
    """Certificates signed together: a remote credential's batch, as many as one
    authorisation may cover (SIGNING_CSC_BATCH, and the provider's own bound); a key held
    here signs one at a time (nothing to gain by waiting)."""
    if credential.backend != SignerBackend.CSC:
        return 1
    configured = int(current_app.config.get("SIGNING_CSC_BATCH") or 100)
    if db.engine.dialect.name == "sqlite":
        # A chunk is built and signed inside the job's transaction, which on SQLite holds
        # the write lock (BEGIN IMMEDIATE): no longer than COMMIT_EVERY documents, as a key
        # held here commits, or logins and saves meanwhile wait past their lock timeout
        # (seen: 503 at login while a chunk of 100 was signed on a busy machine).
        configured = min(configured, COMMIT_EVERY)
    return max(1, min(configured, credential.provider_max_batch or configured))


def _listed(
    document: SignedDocument,
    person: Person,
    signed: list[dict[str, Any]],
    written: list[str] | None,
) -> None:
    """``document`` on the job's page (the first LISTED) and in ``written``."""
    if written is not None:
        written.append(document.path)
    if len(signed) < LISTED:
        # Namesakes are told apart as on every list: by date of birth and ID number.
        signed.append(
            {
                "id": document.id,
                "name": person.full_name,
                "birth": format_birth(person.birth_date, person.birth_precision),
                "id_number": person.id_number or "",
            }
        )


# Started again with the PIN, which is never kept: the job's page asks for it and posts to
# the signing page's own form (signing.routes.post_certificates).
@handler("sign_certificates", owner=Owner(may_retry=permissions.can_sign_certificates))
def run_sign_certificates(job: Job, progress: Progress) -> dict[str, Any]:
    pin = _pin.get()
    if pin is None:
        raise RuntimeError("the signing PIN did not reach the worker")
    user = db.session.get(User, job.params["user_id"])
    if user is None:
        raise RuntimeError("unknown user")
    try:
        return sign_certificates(
            user, pin, progress, base_url=job.params.get("base_url"), otp=_otp.get()
        )
    except services.SigningRefused as refused:
        # Keep the refusal's audit event and the certificates signed before it.
        db.session.commit()
        raise RuntimeError(str(refused)) from refused


def run_checkpoint() -> checkpoints.Checkpoint | None:
    """A checkpoint of the audit trail when one is due (AUDIT_CHECKPOINT_MINUTES since the
    last, and the chain has grown); a refusal — no organisation key, the TSA unreachable, a
    broken chain — goes to the worker's log, and the next run tries again."""
    if not checkpoints.due():
        return None
    try:
        return checkpoints.write_checkpoint()
    except checkpoints.CheckpointRefused as refused:
        current_app.logger.error("audit checkpoint not written: %s", refused)
        return None


@huey.periodic_task(crontab(minute="*/5"))
def write_audit_checkpoint() -> None:
    with app_for_task().app_context():
        run_checkpoint()
