"""Checkpoints of the audit trail: the chain's head anchored outside the database.

Whoever holds the database login can rewrite the hash chain consistently, or cut it and
set its head back (issue 14, item 4). A checkpoint is the head at one moment — sequence
number and hash — signed with the organisation's key and time-stamped by the RFC 3161
TSA, kept as two files in AUDIT_CHECKPOINT_DIR (default ``instance/audit-checkpoints``):

- ``000000001234.json``: ``{"format", "seq", "hash", "created_at"}``, UTF-8;
- ``000000001234.json.p7s``: a detached CMS signature of exactly those bytes (DER,
  SHA-256, CAdES signed attributes) carrying the TSA's token on the signature.

``flask audit verify`` checks every checkpoint's signature and time-stamp, then the chain
against each: history up to the last checkpoint cannot be rewritten or cut without the
organisation's key. A third party checks a checkpoint without the portal::

    openssl cms -verify -binary -inform DER -in 000000001234.json.p7s \\
        -content 000000001234.json -CAfile ca.pem -purpose any

The worker writes one when the chain has grown and AUDIT_CHECKPOINT_MINUTES have passed
(``portal.signing.jobs``); ``flask audit checkpoint`` writes one at once.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.audit import services as audit
from portal.core.clock import utcnow
from portal.core.files import open_private, private_dir, write_private
from portal.signing import core, services

FORMAT = "portal-audit-checkpoint/1"
SIGNATURE = ".p7s"


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    seq: int
    hash: str
    stamped_at: datetime | None  # the TSA's time
    signer: str
    problem: str | None = None  # why it cannot be trusted; None when it verifies

    @property
    def ok(self) -> bool:
        return self.problem is None


class CheckpointRefused(Exception):
    """No checkpoint was written; the message (translated) says why."""


def checkpoint_dir() -> Path:
    configured = current_app.config.get("AUDIT_CHECKPOINT_DIR")
    return (
        Path(configured) if configured else Path(current_app.instance_path) / ("audit-checkpoints")
    )


def _payload_files(folder: Path) -> list[Path]:
    """The payloads, in the order of their sequence numbers (the names sort so)."""
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def read(path: Path, roots: list | None = None) -> Checkpoint:
    """One checkpoint, its signature and time-stamp checked; bad content is a problem
    reported, not an exception."""
    data = path.read_bytes()
    try:
        content = json.loads(data)
        seq, head = int(content["seq"]), str(content["hash"])
        if content.get("format") != FORMAT:
            raise ValueError(content.get("format"))
    except (ValueError, KeyError, TypeError):
        return Checkpoint(path, 0, "", None, "", str(_l("not a checkpoint of the audit chain")))
    signature = path.with_name(path.name + SIGNATURE)
    if not signature.is_file():
        return Checkpoint(path, seq, head, None, "", str(_l("its signature file is missing")))
    report = core.validate_detached(
        data, signature.read_bytes(), services.trust_roots() if roots is None else roots
    )
    problem = None
    if not report.intact:
        problem = _l("its signature does not match its content")
    elif not report.trusted:
        problem = _l("its signer's certificate is not trusted")
    elif not report.timestamp_ok:
        problem = _l("it has no valid time-stamp")
    return Checkpoint(
        path,
        seq,
        head,
        report.timestamp_time,
        report.signer_subject,
        str(problem) if problem else None,
    )


def read_all(folder: Path | None = None) -> list[Checkpoint]:
    roots = services.trust_roots()
    return [read(path, roots) for path in _payload_files(folder or checkpoint_dir())]


def latest(folder: Path | None = None) -> Checkpoint | None:
    """The checkpoint with the highest sequence number, checked."""
    files = _payload_files(folder or checkpoint_dir())
    return read(files[-1]) if files else None


def write_checkpoint(folder: Path | None = None) -> Checkpoint | None:
    """Sign the chain's head as it is now, after checking the chain since the last
    checkpoint; None when nothing was appended since. Raises CheckpointRefused."""
    folder = private_dir(folder or checkpoint_dir())
    # One writer at a time (the worker's task, a command): a payload and its signature
    # always come from the same writer.
    with open_private(folder / ".lock", "ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        last = latest(folder)
        if last is not None and not last.ok:
            raise CheckpointRefused(
                _l(
                    "The last checkpoint %(file)s does not verify: %(problem)s.",
                    file=last.path.name,
                    problem=last.problem,
                )
            )
        report = audit.verify_chain(
            anchors={last.seq: last.hash} if last else None, since=last.seq if last else None
        )
        if not report.ok or report.head is None:
            raise CheckpointRefused(
                _l(
                    "The audit chain is broken at event #%(seq)d: run flask audit verify.",
                    seq=report.broken_seq,
                )
            )
        seq, head_hash = report.head
        if seq == 0 or (last is not None and seq == last.seq):
            return None
        payload = json.dumps(
            {
                "format": FORMAT,
                "seq": seq,
                "hash": head_hash,
                "created_at": utcnow().isoformat(timespec="seconds") + "Z",
            },
            sort_keys=True,
        ).encode()
        try:
            signature = core.sign_detached(
                payload, services.organisation_signer(), services.tsa_config().timestamper()
            )
        except services.SigningRefused as error:
            raise CheckpointRefused(str(error)) from error
        except Exception as error:  # TSA unreachable or refusing: say so, write nothing
            raise CheckpointRefused(
                _l(
                    "The checkpoint could not be signed or time-stamped: %(error)s",
                    error=str(error)[:300],
                )
            ) from error
        path = folder / f"{seq:012d}.json"
        # The signature first: a reader never finds a payload without its signature.
        write_private(path.with_name(path.name + SIGNATURE), signature)
        write_private(path, payload)
    return read(path)


def due(now: datetime | None = None) -> bool:
    """The worker's question: AUDIT_CHECKPOINT_MINUTES since the last checkpoint's file."""
    minutes = int(current_app.config.get("AUDIT_CHECKPOINT_MINUTES") or 0)
    if minutes <= 0:
        return False
    files = _payload_files(checkpoint_dir())
    if not files:
        return True
    written = datetime.fromtimestamp(files[-1].stat().st_mtime, UTC).replace(tzinfo=None)
    return (now or utcnow()) - written >= timedelta(minutes=minutes)
