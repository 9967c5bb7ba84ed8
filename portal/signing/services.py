"""Signing confirmations: credentials, the lists awaiting signature, signing, supersession.

Services flush and record audit events; the route, CLI or job commits. A wrong PIN is
recorded as an audit event and raised as SigningRefused: the caller commits the event and
shows the message (nothing else changed).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import current_app, has_request_context, url_for
from flask_babel import lazy_gettext as _l
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from sqlalchemy.dialects import postgresql, sqlite

from portal.areas.models import Area, Site
from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.auth.models import User
from portal.auth.passwords import secret_forms
from portal.core.accounts import SigningMethod
from portal.core.clock import format_date, today_in_vietnam, utcnow, vietnam_date
from portal.core.sql import locked
from portal.extensions import db
from portal.records import vaccines
from portal.records.models import Dose, Person, PersonStatus
from portal.records.queries import search_clause
from portal.signing import backends, core, demo_pki, documents, pki, remote
from portal.signing.models import (
    CERTIFIED,
    CONFIRMATION,
    BatchState,
    DocumentKind,
    DocumentMember,
    DocumentState,
    Minutes,
    MinutesMember,
    MinutesState,
    SignedDocument,
    SignerBackend,
    SigningBatch,
    SigningBatchMember,
    SigningCredential,
    VerificationCount,
)
from portal.worklists import handover as handover_services
from portal.worklists import pdf as handover_pdf
from portal.worklists.handover import _store, document_root
from portal.worklists.models import WorklistKind, WorklistMember, WorklistState
from portal.worklists.services import member_snapshot

# Matched by the register or verified by the police; re-confirmation after a change.
AWAITING = (PersonStatus.MATCHED, PersonStatus.VERIFIED, PersonStatus.NEEDS_RECONFIRMATION)
IDENTITY_FIELDS = frozenset({"full_name", "sex", "birth_date", "birth_precision", "id_number"})
MAX_PER_DOCUMENT = 2000


class SigningRefused(ValueError):
    """Shown to the user as it is (translated)."""


class AlreadyCertified(SigningRefused):
    """The person has a valid certificate already (another batch signed it meanwhile)."""


class RemoteRefused(SigningRefused):
    """The remote-signing provider did not sign (``reason``: one of remote.REASONS)."""

    def __init__(self, reason: str, message: Any):
        super().__init__(message)
        self.reason = reason


# The words of each provider refusal, and the account's method of each backend.
PROVIDER_MESSAGES = {
    remote.WRONG_SECRET: _l(
        "The remote-signing provider refused the PIN or OTP. Nothing was signed. The "
        "provider counts wrong PINs itself and may lock your key."
    ),
    remote.CREDENTIAL: _l(
        "The remote-signing provider refused your signing credential (disabled, expired or "
        "unknown there). Nothing was signed; ask the administrator."
    ),
    remote.TIMEOUT: _l(
        "The remote-signing provider did not answer in time. Nothing was signed; try again."
    ),
    remote.UNAVAILABLE: _l(
        "The remote-signing provider cannot be reached. Nothing was signed; try again later."
    ),
    remote.BAD_ANSWER: _l(
        "The remote-signing provider gave an answer that is not valid. Nothing was signed."
    ),
    remote.REFUSED: _l("The remote-signing provider refused to sign. Nothing was signed."),
}
METHOD_BACKENDS = {
    SigningMethod.CSC: (SignerBackend.CSC,),
    SigningMethod.BROWSER: (SignerBackend.BROWSER,),
    SigningMethod.SERVER: (SignerBackend.PKCS12, SignerBackend.PKCS11),
}
SERVER_BACKENDS = METHOD_BACKENDS[SigningMethod.SERVER]


# --- configuration --------------------------------------------------------------------------


def demo_pki_dir() -> Path:
    configured = current_app.config.get("SIGNING_DEMO_PKI_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "demo-pki"


@lru_cache(maxsize=8)
def _read_pem_certs(path: str, mtime: float) -> tuple[x509.Certificate, ...]:
    return tuple(x509.load_pem_x509_certificates(Path(path).read_bytes()))


def _certs_at(path: Path) -> list[x509.Certificate]:
    if not path.is_file():
        return []
    return list(_read_pem_certs(str(path), path.stat().st_mtime))


def trust_roots() -> list[x509.Certificate]:
    """SIGNING_TRUST_ROOTS (a PEM bundle), and the demo CA where the demo made one."""
    roots: list[x509.Certificate] = []
    configured = current_app.config.get("SIGNING_TRUST_ROOTS")
    if configured:
        roots += _certs_at(Path(configured))
    roots += _certs_at(demo_pki_dir() / "ca.pem")
    return roots


def demo_chain() -> list[x509.Certificate]:
    """The demo PKI's intermediate CAs (chain.pem: the signers' CA) and its root."""
    folder = demo_pki_dir()
    return _certs_at(folder / "chain.pem") + _certs_at(folder / "ca.pem")


def demo_root_fingerprints() -> set[bytes]:
    return {c.fingerprint(hashes.SHA256()) for c in _certs_at(demo_pki_dir() / "ca.pem")}


def tsa_config() -> core.TsaConfig:
    """SIGNING_TSA_URL, or the demo's in-process TSA when the demo PKI exists."""
    url = current_app.config.get("SIGNING_TSA_URL")
    if url:
        return core.TsaConfig(url=url)
    folder = demo_pki_dir()
    key_file = folder / "tsa-key.pem"
    if (folder / "tsa.pem").is_file() and key_file.is_file():
        return _local_tsa(str(folder), key_file.stat().st_mtime)
    return core.TsaConfig()


@lru_cache(maxsize=4)
def _local_tsa(folder: str, mtime: float) -> core.TsaConfig:
    """The demo TSA's key parsed once per process (an RSA key takes long to load)."""
    path = Path(folder)
    return core.TsaConfig(
        cert=pki.load_pem_cert((path / "tsa.pem").read_bytes()),
        key=pki.load_pem_key((path / "tsa-key.pem").read_bytes()),
        chain=tuple(_certs_at(path / "ca.pem")),
    )


# The demo's organisation certificate and key, beside its CA (portal.signing.demo).
DEMO_ORGANISATION = ("organisation.pem", "organisation-key.pem")


def organisation_signer() -> core.ParsedKeySigner:
    """The organisation's own key, which signs the audit trail's checkpoints:
    SIGNING_ORGANISATION_P12 with SIGNING_ORGANISATION_PASSWORD, else the demo's
    organisation certificate where the demo made one."""
    configured = current_app.config.get("SIGNING_ORGANISATION_P12")
    if configured:
        password = str(current_app.config.get("SIGNING_ORGANISATION_PASSWORD") or "")
        try:
            return core.signer_from_pkcs12(Path(configured).read_bytes(), password)
        except (OSError, core.SignerUnavailable) as error:
            raise SigningRefused(
                _l(
                    "The organisation's key (SIGNING_ORGANISATION_P12) cannot be opened: %(error)s",
                    error=str(error),
                )
            ) from error
    folder = demo_pki_dir()
    cert_file, key_file = (folder / name for name in DEMO_ORGANISATION)
    if not (cert_file.is_file() and key_file.is_file()):
        raise SigningRefused(
            _l(
                "No organisation key: set SIGNING_ORGANISATION_P12 (and "
                "SIGNING_ORGANISATION_PASSWORD)."
            )
        )
    return core.ParsedKeySigner(
        pki.load_pem_key(key_file.read_bytes()),
        pki.load_pem_cert(cert_file.read_bytes()),
        demo_chain(),
    )


def signing_level() -> str:
    return str(current_app.config.get("SIGNING_LEVEL") or "B-T")


def revocation_fetch() -> bool:
    """SIGNING_REVOCATION_FETCH: may pyHanko fetch OCSP responses and CRLs (signing at
    B-LT/B-LTA, the check before signing, verification)? Off by default: offline works."""
    value = current_app.config.get("SIGNING_REVOCATION_FETCH")
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def require_public_base_url() -> None:
    """In production the certificates' QR codes need the portal's public address: refuse
    to start signing certificates without PUBLIC_BASE_URL rather than print a wrong link."""
    if not current_app.config.get("PUBLIC_BASE_URL") and current_app.config.get(
        "PORTAL_ENV"
    ) not in ("development", "testing"):
        raise SigningRefused(
            _l(
                "PUBLIC_BASE_URL is not set: the QR code of a certificate must carry the "
                "portal's public address (e.g. https://tiemchung.example.gov.vn). Set it, then "
                "sign the certificates."
            )
        )


def verify_url(code: str, base: str | None = None) -> str:
    """The verification link printed in a certificate's QR code: PUBLIC_BASE_URL; else (in
    development) the address the request came to, or ``base``, the address a queued job
    was started from; else http://127.0.0.1:5000 for the development command line."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if not configured and not base and has_request_context():
        return url_for("signing.verify_code", code=code, _external=True)
    if not configured and not base:
        require_public_base_url()
    root = str(configured or base or "http://127.0.0.1:5000")
    return f"{root.rstrip('/')}/verify/{code}"


# --- credentials ----------------------------------------------------------------------------


def _describe(cert: x509.Certificate) -> dict[str, Any]:
    return {
        "subject": core.subject_text(cert)[:400],
        "serial": format(cert.serial_number, "x"),
        "not_after": cert.not_valid_after_utc.replace(tzinfo=None),
    }


def is_pkcs12(data: bytes) -> bool:
    """Whether ``data`` is a PKCS#12 container at all, read without its password: a wrong
    PIN and a file of another kind fail alike in cryptography, and deserve two answers."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return bool(
            pfx["version"].native == "v3"
            and pfx["auth_safe"]["content_type"].native in ("data", "signed_data")
        )
    except (ValueError, TypeError, KeyError):
        return False


def add_pkcs12_credential(
    user: User, data: bytes, pin: str, title: str, unit: str, demo: bool = False, actor: Any = None
) -> SigningCredential:
    """Keep a user's PKCS#12 (encrypted with their PIN) sealed; earlier ones stop being used."""
    if not is_pkcs12(data):
        raise SigningRefused(_l("This file is not a PKCS#12 key file (.p12 or .pfx)."))
    try:
        _key, cert, extra = pkcs12.load_key_and_certificates(data, pin.encode())
    except ValueError as error:
        # The container is well formed (above): what fails now is its password's MAC.
        raise SigningRefused(_l("The file could not be opened with this PIN.")) from error
    if cert is None:
        raise SigningRefused(_l("The file holds no certificate."))
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [cert, *extra])
    return _add_credential(
        user,
        SignerBackend.PKCS12,
        cert,
        chain.decode(),
        title,
        unit,
        demo,
        actor,
        sealed_pkcs12=backends.seal(data),
    )


def add_pkcs11_credential(
    user: User,
    token_label: str,
    key_label: str,
    chain: list[x509.Certificate],
    title: str,
    unit: str,
    demo: bool = False,
    actor: Any = None,
) -> SigningCredential:
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain).decode()
    return _add_credential(
        user,
        SignerBackend.PKCS11,
        chain[0],
        pem,
        title,
        unit,
        demo,
        actor,
        token_label=token_label,
        key_label=key_label,
    )


def add_csc_credential(
    user: User,
    provider_url: str,
    credential_id: str,
    title: str,
    unit: str,
    demo: bool = False,
    actor: Any = None,
    linked: remote.LinkedCredential | None = None,
) -> SigningCredential:
    """Link the account to a remote-signing provider's credential: its certificate chain and
    authorisation mode are read from the provider (``credentials/info``); no key is kept.
    ``linked``: already known (the demo's seeding, which issued the certificate)."""
    url, credential_id = provider_url.strip().rstrip("/"), credential_id.strip()
    if not url.startswith(("https://", "http://")) or not credential_id:
        raise SigningRefused(_l("Give the provider's address and the credential ID."))
    if linked is None:
        try:
            linked = remote.provider_for(url, credential_id, _csc_timeout()).read_credential()
        except remote.ProviderError as error:
            raise RemoteRefused(error.reason, PROVIDER_MESSAGES[error.reason]) from error
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in linked.chain)
    return _add_credential(
        user,
        SignerBackend.CSC,
        linked.chain[0],
        pem.decode(),
        title,
        unit,
        demo,
        actor,
        provider_url=url,
        provider_credential_id=credential_id,
        provider_auth=linked.auth,
        provider_max_batch=linked.max_batch,
    )


def method_choices() -> list[SigningMethod]:
    """What the administrator may choose: a key on the server only where it is allowed."""
    return [m for m in SigningMethod if m != SigningMethod.SERVER or allow_server_keys()]


def set_signing_method(
    account: User, method: SigningMethod | None, actor: Any = None
) -> dict[str, Any]:
    """The account's signing method (None: not chosen); one audit event with the change."""
    if method is not None and method not in method_choices():
        raise SigningRefused(
            _l("This portal does not allow keys held on its server for a person's signature.")
        )
    old = account.signing_method
    if old == method:
        return {}
    account.signing_method = method
    db.session.flush()
    changes = {"signing_method": [old, method]}
    audit.record("signing.method", "user", account.id, changes, actor=actor)
    return changes


def credentials_of(account: User) -> list[SigningCredential]:
    """The account's active credentials, newest first (one per method at most)."""
    return list(
        db.session.scalars(
            sa.select(SigningCredential)
            .where(SigningCredential.user_id == account.id, SigningCredential.active.is_(True))
            .order_by(SigningCredential.id.desc())
        )
    )


def _csc_timeout() -> float:
    return float(current_app.config.get("SIGNING_CSC_TIMEOUT") or 10)


def allow_server_keys() -> bool:
    return bool(current_app.config.get("SIGNING_ALLOW_SERVER_KEYS"))


def method_of(credential: SigningCredential) -> SigningMethod:
    """The signing method a credential serves: csc, browser, or server (a key held here)."""
    return next(m for m, kinds in METHOD_BACKENDS.items() if credential.backend in kinds)


def _add_credential(
    user: User,
    backend: SignerBackend,
    cert: x509.Certificate,
    pem: str,
    title: str,
    unit: str,
    demo: bool,
    actor: Any,
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> SigningCredential:
    # A new credential replaces the earlier ones of its method (a server key replaces a
    # server key), so that the administrator can switch an account's method back.
    family = next(kinds for kinds in METHOD_BACKENDS.values() if backend in kinds)
    db.session.execute(
        sa.update(SigningCredential)
        .where(
            SigningCredential.user_id == user.id,
            SigningCredential.active.is_(True),
            SigningCredential.backend.in_(family),
        )
        .values(active=False)
        .execution_options(synchronize_session=False)
    )
    facts = _describe(cert)
    credential = SigningCredential(
        user_id=user.id,
        backend=backend,
        certificate_pem=pem,
        title=title,
        unit=unit,
        demo=demo,
        active=True,
        **facts,
        **fields,
    )
    db.session.add(credential)
    db.session.flush()
    audit.record(
        "signing.credential_add",
        "user",
        user.id,
        {
            "backend": [None, backend],
            "subject": [None, facts["subject"]],
            "serial": [None, facts["serial"]],
            "demo": [None, demo],
            **(extra or {}),
        },
        actor=actor,
    )
    return credential


def active_credential(user: User) -> SigningCredential | None:
    """The credential of the account's signing method (any, the latest, while none is
    chosen)."""
    query = sa.select(SigningCredential).where(
        SigningCredential.user_id == user.id, SigningCredential.active.is_(True)
    )
    method = user.signing_method
    if method is not None:
        query = query.where(SigningCredential.backend.in_(METHOD_BACKENDS[SigningMethod(method)]))
    return db.session.scalar(query.order_by(SigningCredential.id.desc()).limit(1))


PIN_ATTEMPTS = 5  # wrong PINs in a row that lock a signing credential

LOCKED_MESSAGE = _l(
    "Your signing key is locked after %(num)d wrong PINs in a row. Nothing "
    "was signed. An administrator must unlock it.",
    num=PIN_ATTEMPTS,
)


BROWSER_KEY_MESSAGE = _l(
    "Your signing key is kept in your browser: sign a list in the sign dialog, with the key "
    "of this browser. Certificates signed by a queue job need a key on the server or at a "
    "remote-signing provider."
)


def unlock(
    user: User, pin: str, actor: Any = None, otp: str | None = None
) -> tuple[SigningCredential, Any]:
    """The user's signer, unlocked by the PIN. A wrong PIN is audited and refused, and
    counted on the credential in the same transaction as its audit event (the caller
    commits both); PIN_ATTEMPTS in a row lock it until an administrator unlocks it. A
    right PIN resets the count, unless a concurrent request locked it meanwhile.

    A remote (CSC) credential's PIN and OTP go to its provider with the hashes to sign: the
    provider checks them when signing (``provider_refusals``) and counts wrong PINs itself,
    locking the key by its own rule; the portal does not count them too, which would lock
    the signer out twice, under two rules, with two ways to unlock. A key held by the
    server signs only where SIGNING_ALLOW_SERVER_KEYS allows it."""
    credential = active_credential(user)
    if credential is None:
        raise SigningRefused(
            _l(
                "You have no signing certificate. Ask the administrator to "
                "import one, or record the confirmation with minutes."
            )
        )
    if credential.backend in SERVER_BACKENDS and not allow_server_keys():
        audit.record(
            "signing.refused",
            "user",
            user.id,
            {"reason": [None, "server_keys_disallowed"], "serial": [None, credential.serial]},
            actor=actor or user,
        )
        raise SigningRefused(
            _l(
                "This portal does not sign with keys held on its server. Ask the "
                "administrator to set up remote signing or a browser key for your account."
            )
        )
    if credential.locked_at is not None:
        audit.record(
            "signing.refused",
            "user",
            user.id,
            {"reason": [None, "credential_locked"], "serial": [None, credential.serial]},
            actor=actor or user,
        )
        raise SigningRefused(LOCKED_MESSAGE)
    if credential.not_after < utcnow():
        audit.record(
            "signing.refused",
            "user",
            user.id,
            {"reason": [None, "certificate_expired"], "serial": [None, credential.serial]},
            actor=actor or user,
        )
        raise SigningRefused(
            _l(
                "Your signing certificate expired on %(day)s; it cannot sign.",
                day=format_date(credential.not_after),
            )
        )
    _refuse_revoked(credential, actor or user)
    if credential.backend == SignerBackend.BROWSER:
        # No PIN unlocks a key kept in the signer's browser (portal/signing/browser.py);
        # nor is a PIN typed here counted against it.
        raise SigningRefused(BROWSER_KEY_MESSAGE)
    if credential.backend == SignerBackend.CSC:
        try:
            return credential, backends.open_signer(credential, pin or "", otp or None)
        except core.SignerUnavailable as error:
            raise SigningRefused(PROVIDER_MESSAGES[remote.REFUSED]) from error
    try:
        signer = _open_signer(credential, pin or "")
    except core.SignerUnavailable as error:
        failed = _count_wrong_pin(credential)
        audit.record(
            "signing.pin_refused",
            "user",
            user.id,
            {
                "backend": [None, credential.backend],
                "serial": [None, credential.serial],
                "failed_pins": [failed - 1, failed],
            },
            actor=actor or user,
        )
        if failed >= PIN_ATTEMPTS:
            audit.record(
                "signing.credential_locked",
                "user",
                user.id,
                {
                    "serial": [None, credential.serial],
                    "locked": [False, True],
                    "failed_pins": [None, failed],
                },
                actor=actor or user,
            )
            raise SigningRefused(LOCKED_MESSAGE) from error
        raise SigningRefused(
            _l(
                "Wrong PIN: the signing key was not unlocked. Nothing was "
                "signed. %(left)d tries left before it locks.",
                left=PIN_ATTEMPTS - failed,
            )
        ) from error
    # The reset is conditional: a credential locked by a concurrent request stays locked.
    reset = db.session.execute(
        sa.update(SigningCredential)
        .where(SigningCredential.id == credential.id, SigningCredential.locked_at.is_(None))
        .values(failed_pins=0)
        .execution_options(synchronize_session=False)
    )
    if reset.rowcount != 1:  # type: ignore[attr-defined]
        raise SigningRefused(LOCKED_MESSAGE)
    db.session.refresh(credential)
    return credential, signer


@contextmanager
def provider_refusals(user: User, credential: SigningCredential) -> Iterator[None]:
    """Around a signing whose writes sit in a savepoint (entered inside this): a provider's
    refusal is audited after the savepoint rolled back, so the event stays and nothing
    else does."""
    try:
        yield
    except RemoteRefused as refused:
        audit.record(
            "signing.pin_refused" if refused.reason == remote.WRONG_SECRET else "signing.refused",
            "user",
            user.id,
            {
                "backend": [None, credential.backend],
                "reason": [None, f"provider_{refused.reason}"],
                "serial": [None, credential.serial],
                "provider": [None, credential.provider_url],
            },
            actor=user,
        )
        raise


def credential_chain(credential: SigningCredential) -> list[x509.Certificate]:
    """The credential's certificate then its CAs, as stored with it."""
    return list(x509.load_pem_x509_certificates(credential.certificate_pem.encode()))


def _refuse_revoked(credential: SigningCredential, actor: Any) -> None:
    """Before signing, the certificate's OCSP responder (or CRL) is asked, where fetching
    is allowed (SIGNING_REVOCATION_FETCH): a revoked certificate signs nothing (the refusal
    is audited). An unreachable responder does not stop signing: the signature's
    validation reports what it finds."""
    if not revocation_fetch():
        return
    cert, *chain = credential_chain(credential)
    revocation = core.certificate_revocation(cert, chain, trust_roots())
    if revocation is None:
        return
    audit.record(
        "signing.refused",
        "user",
        credential.user_id,
        {"reason": [None, "certificate_revoked"], "serial": [None, credential.serial]},
        actor=actor,
    )
    when = revocation.when
    raise SigningRefused(
        _l(
            "Your signing certificate was revoked on %(day)s; it cannot sign. Nothing was "
            "signed. Ask the administrator for a new certificate.",
            day=format_date(when) if when else "?",
        )
    )


def credential_by_serial(serial: str) -> SigningCredential | None:
    """The newest credential with that certificate serial (hexadecimal, any case)."""
    wanted = serial.strip().lower().removeprefix("0x").lstrip("0") or "0"
    return db.session.scalar(
        sa.select(SigningCredential)
        .where(SigningCredential.serial == wanted)
        .order_by(SigningCredential.id.desc())
        .limit(1)
    )


def revoke_demo_certificate(
    credential: SigningCredential, reason: str = "key_compromise", actor: Any = None
) -> demo_pki.Entry:
    """Revoke a demo certificate at the demo PKI (its OCSP responder says so at once) and
    stop its portal credential; audited. Only the demo's certificates: a licensed CA's
    are revoked at that CA."""
    try:
        entry = demo_pki.find(demo_pki_dir(), serial=int(credential.serial, 16))
    except (demo_pki.UnknownCertificate, ValueError) as error:
        raise SigningRefused(
            _l("Certificate %(serial)s is not one of the demo PKI's.", serial=credential.serial)
        ) from error
    revoked = demo_pki.revoke(demo_pki_dir(), entry, reason)
    was_active = credential.active
    credential.active = False
    db.session.flush()
    audit.record(
        "signing.certificate_revoked",
        "user",
        credential.user_id,
        {
            "serial": [None, credential.serial],
            "subject": [None, credential.subject],
            "revoked_since": [None, revoked.revoked_since],
            "reason": [None, revoked.reason],
            "active": [was_active, False],
        },
        actor=actor,
    )
    VERDICTS.clear()
    return revoked


def _open_signer(credential: SigningCredential, pin: str) -> Any:
    """The PIN normalised as passwords are (NFKC), then, for a key file, as typed: a file
    made elsewhere may have a PIN that normalising changes. A hardware token gets the
    normalised PIN only, since the token itself counts every wrong PIN."""
    forms = secret_forms(pin)
    if credential.backend != SignerBackend.PKCS12:
        forms = forms[:1]
    for form in forms[:-1]:
        try:
            return backends.open_signer(credential, form)
        except core.SignerUnavailable:
            continue
    return backends.open_signer(credential, forms[-1])


def _count_wrong_pin(credential: SigningCredential) -> int:
    """One more wrong PIN, counted by the database (concurrent workers each add theirs),
    locking the credential at PIN_ATTEMPTS; the new count."""
    count = SigningCredential.failed_pins + 1
    failed = db.session.execute(
        sa.update(SigningCredential)
        .where(SigningCredential.id == credential.id)
        .values(
            failed_pins=count,
            locked_at=sa.case(
                (count >= PIN_ATTEMPTS, sa.func.coalesce(SigningCredential.locked_at, utcnow())),
                else_=SigningCredential.locked_at,
            ),
        )
        .returning(SigningCredential.failed_pins)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    db.session.refresh(credential)
    return int(failed)


def locked_credential(user_id: int) -> SigningCredential | None:
    """The user's active signing credential if wrong PINs locked it."""
    return db.session.scalar(
        sa.select(SigningCredential)
        .where(
            SigningCredential.user_id == user_id,
            SigningCredential.active.is_(True),
            SigningCredential.locked_at.is_not(None),
        )
        .limit(1)
    )


def locked_signers(user_ids: list[int]) -> set[int]:
    """Of these users, those whose active signing credential is locked (one query)."""
    if not user_ids:
        return set()
    return set(
        db.session.scalars(
            sa.select(SigningCredential.user_id).where(
                SigningCredential.user_id.in_(user_ids),
                SigningCredential.active.is_(True),
                SigningCredential.locked_at.is_not(None),
            )
        )
    )


def unlock_credential(user: User, actor: Any = None) -> SigningCredential:
    """An administrator's act: the user's locked signing credential signs again."""
    credential = locked_credential(user.id)
    if credential is None:
        raise SigningRefused(_l("This account's signing key is not locked."))
    db.session.execute(
        sa.update(SigningCredential)
        .where(SigningCredential.id == credential.id)
        .values(failed_pins=0, locked_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(credential)
    audit.record(
        "signing.credential_unlocked",
        "user",
        user.id,
        {"serial": [None, credential.serial], "locked": [True, False]},
        actor=actor,
    )
    return credential


# --- what awaits signature ------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    search: str | None = None


def committee_clauses(commune_id: int, filters: Filters | None = None) -> list[Any]:
    clauses: list[Any] = [Person.commune_id == commune_id, Person.status.in_(AWAITING)]
    if filters and filters.status:
        clauses.append(Person.status == PersonStatus(filters.status))
    search = search_clause(filters.search) if filters and filters.search else None
    if search is not None:
        clauses.append(search)
    return clauses


def awaiting_committee(
    commune_id: int, filters: Filters | None = None, limit: int = MAX_PER_DOCUMENT
) -> tuple[list[Person], int]:
    clauses = committee_clauses(commune_id, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Person).where(*clauses))
    persons = list(
        db.session.scalars(
            sa.select(Person).where(*clauses).order_by(Person.name_sort, Person.id).limit(limit)
        )
    )
    return persons, total or 0


def site_day_rows(site: Site, day: date) -> list[tuple[Person, Dose]]:
    """The site's doses of that day whose person is not yet confirmed. Sites at central,
    ministry, province or district level sign without the commune cleaning procedure (letter
    2262/BYT-CNTT, item 6); other sites only sign persons whose identity has been checked."""
    clauses: list[Any] = [
        Dose.site_id == site.id,
        Dose.vaccinated_on == day,
        Person.status != PersonStatus.CONFIRMED,
    ]
    if not site.skips_commune_cleaning:
        clauses.append(Person.status.in_(AWAITING))
    rows = db.session.execute(
        sa.select(Person, Dose)
        .join(Dose, Dose.person_id == Person.id)
        .where(*clauses)
        .order_by(Person.name_sort, Person.id)
    )
    return [(person, dose) for person, dose in rows]


def _dose_counts(person_ids: list[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    return dict(
        db.session.execute(  # type: ignore[arg-type]
            sa.select(Dose.person_id, sa.func.count())
            .where(Dose.person_id.in_(person_ids))
            .group_by(Dose.person_id)
        ).all()
    )


def person_snapshots(persons: list[Person]) -> list[dict[str, Any]]:
    counts = _dose_counts([p.id for p in persons])
    return [
        {**member_snapshot(p), "doses": counts.get(p.id, 0), "person_id": p.id} for p in persons
    ]


# --- signing --------------------------------------------------------------------------------


def _signer_title(credential: SigningCredential) -> str:
    return credential.title or "Chủ tịch"


def _new_document(
    kind: DocumentKind,
    area_id: int,
    title: str,
    user: User | None,
    site_id: int | None = None,
    worklist_id: int | None = None,
) -> SignedDocument:
    document = SignedDocument(
        code=secrets.token_urlsafe(18),
        kind=kind,
        area_id=area_id,
        site_id=site_id,
        worklist_id=worklist_id,
        title=title[:300],
        signer_id=getattr(user, "id", None),
        path="",
        sha256="",
        signed_at=utcnow(),
        state=DocumentState.VALID,
    )
    db.session.add(document)
    db.session.flush()
    return document


def _store_document(document: SignedDocument, content: bytes, suffix: str = "pdf") -> None:
    relative = f"signed/{document.signed_at:%Y/%m}/{document.id}-{document.code}.{suffix}"
    _store(relative, content)
    document.path = relative
    document.sha256 = hashlib.sha256(content).hexdigest()


def _sign(
    document: SignedDocument,
    built: documents.Built,
    credential: SigningCredential,
    signer: Any,
    signer_name: str,
    reason: str,
    location: str | None,
    timestamper: Any = None,
) -> bytes:
    return _sign_many(
        [(document, built, reason, location)], credential, signer, signer_name, timestamper
    )[0]


def _sign_many(
    items: list[tuple[SignedDocument, documents.Built, str, str | None]],
    credential: SigningCredential,
    signer: Any,
    signer_name: str,
    timestamper: Any = None,
) -> list[bytes]:
    """Sign these documents with one signer, together: a remote signer asks its provider
    once for all of them (one authorisation, one signing call)."""
    tsa = timestamper if timestamper is not None else tsa_config().timestamper()
    if hasattr(signer, "batch_size"):
        signer.batch_size = len(items)
    try:
        signed = core.sign_pdfs(
            [
                core.PdfToSign(
                    built.content,
                    core.Stamp(
                        signer_name,
                        credential.title,
                        credential.unit,
                        built.slot.page,
                        built.slot.box,
                    ),
                    reason,
                    location,
                )
                for _document, built, reason, location in items
            ],
            signer,
            tsa,
            level=signing_level(),
            trust_roots=trust_roots(),
            fetch=revocation_fetch(),
        )
    except remote.ProviderError as error:
        current_app.logger.warning("remote signing refused: %s", error)
        raise RemoteRefused(error.reason, PROVIDER_MESSAGES[error.reason]) from error
    except Exception as error:  # TSA unreachable, token gone: say so, sign nothing
        current_app.logger.exception("signing documents %s failed", [i[0].id for i in items])
        raise SigningRefused(
            _l("The document could not be signed: %(error)s", error=str(error)[:200])
        ) from error
    for document, *_rest in items:
        _mark_signed(document, credential, signer_name)
    return signed


def _mark_signed(document: SignedDocument, credential: SigningCredential, name: str) -> None:
    document.signer_name = name
    document.certificate_subject = credential.subject
    document.certificate_serial = credential.serial
    document.level = signing_level()


def record_signing(
    document: SignedDocument,
    user: User | None,
    method: SigningMethod | str | None,
    changes: dict[str, Any],
) -> None:
    """The one audit event of a signed document, whatever signed it: signer, certificate
    subject and serial, the method (csc, browser, server; None for paper minutes), the
    file's hash and level, and what each kind adds (``changes``: members, the list it came
    from…)."""
    audit.record(
        "document.sign",
        "signed_document",
        document.id,
        {
            "kind": [None, document.kind],
            "signer": [None, document.signer_name],
            "certificate_subject": [None, document.certificate_subject],
            "certificate_serial": [None, document.certificate_serial],
            "method": [None, method],
            "sha256": [None, document.sha256],
            "level": [None, document.level],
            **changes,
        },
        actor=user,
    )


def _confirm(
    document: SignedDocument,
    snapshots: list[dict[str, Any]],
    user: User | None,
    evidence: str,
    extra: dict[str, Any] | None = None,
    method: SigningMethod | None = None,
) -> list[int]:
    """Members recorded; persons confirmed (set-based); one audit event for the document."""
    person_ids = [s["person_id"] for s in snapshots]
    # Members of earlier documents for these persons are replaced by this one (first: one
    # valid confirmation per person, a unique index).
    db.session.execute(
        sa.update(DocumentMember)
        .where(
            DocumentMember.person_id.in_(person_ids),
            DocumentMember.document_id != document.id,
            DocumentMember.superseded_at.is_(None),
        )
        .values(superseded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.insert(DocumentMember),
        [
            {
                "document_id": document.id,
                "person_id": s["person_id"],
                "basis": CONFIRMATION,
                "snapshot": {k: v for k, v in s.items() if k != "person_id"},
            }
            for s in snapshots
        ],
    )
    db.session.execute(
        sa.update(Person)
        .where(Person.id.in_(person_ids), Person.status != PersonStatus.CONFIRMED)
        .values(status=PersonStatus.CONFIRMED, version=Person.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    document.member_count = len(person_ids)
    db.session.flush()
    db.session.expire_all()
    record_signing(
        document,
        user,
        method,
        {
            "evidence": [None, evidence],
            "members": [None, len(person_ids)],
            "person_ids": [None, person_ids],
            "status": [[s.get("status") for s in snapshots][:1] or None, PersonStatus.CONFIRMED],
            **(extra or {}),
        },
    )
    return person_ids


def _guard_size(count: int) -> None:
    if count == 0:
        raise SigningRefused(_l("Nobody awaits this signature."))
    if count > MAX_PER_DOCUMENT:
        raise SigningRefused(
            _l("At most %(num)s persons per document; narrow the filter.", num=MAX_PER_DOCUMENT)
        )


def site_snapshots(rows: list[tuple[Person, Dose]]) -> list[dict[str, Any]]:
    """A site's daily list as a document records it: each person once, with the dose."""
    snapshots = [
        {
            **member_snapshot(person),
            "person_id": person.id,
            "dose_number": dose.dose_number,
            **vaccine_fields(dose),
            "lot": dose.lot,
        }
        for person, dose in rows
    ]
    # One person may have two doses the same day only by error; list them once.
    return list({s["person_id"]: s for s in reversed(snapshots)}.values())[::-1]


# --- the sign dialog's list -----------------------------------------------------------------
#
# Opening the sign dialog stores what it shows (``SigningBatch``): exactly those persons,
# their record's version and the data shown. The PIN then signs those persons, those still
# eligible; the others are left out with their reason. Whatever the awaiting page's filter
# lists by then (another tab, persons who became eligible meanwhile) is not signed.


def prepare_committee(user: User, filters: Filters | None = None) -> SigningBatch:
    """The committee's dialog: the commune's persons awaiting confirmation under ``filters``
    now (at most MAX_PER_DOCUMENT)."""
    persons, total = awaiting_committee(user.area_id, filters)
    _guard_size(total)
    return _new_batch(
        DocumentKind.COMMITTEE_LIST,
        user,
        user.area_id,
        persons,
        person_snapshots(persons),
        filters={
            "status": getattr(filters, "status", None),
            "search": getattr(filters, "search", None),
        },
    )


def prepare_site_daily(user: User, day: date) -> SigningBatch:
    """A site's dialog: the day's persons as the awaiting page shows them."""
    site = db.session.get(Site, user.site_id)
    if site is None:
        raise SigningRefused(_l("Nobody awaits this signature."))
    rows = site_day_rows(site, day)
    _guard_size(len(rows))
    return _new_batch(
        DocumentKind.SITE_DAILY,
        user,
        site.commune_id,
        [p for p, _d in rows],
        site_snapshots(rows),
        site_id=site.id,
        day=day,
    )


def _new_batch(
    kind: DocumentKind,
    user: User,
    area_id: int,
    persons: list[Person],
    snapshots: list[dict[str, Any]],
    site_id: int | None = None,
    day: date | None = None,
    filters: dict[str, Any] | None = None,
) -> SigningBatch:
    versions = {p.id: p.version for p in persons}
    batch = SigningBatch(
        kind=kind,
        state=BatchState.OPEN,
        area_id=area_id,
        site_id=site_id,
        day=day,
        filters=filters or {},
        created_by_id=user.id,
        created_at=utcnow(),
        member_count=len(snapshots),
    )
    db.session.add(batch)
    db.session.flush()
    db.session.execute(
        sa.insert(SigningBatchMember),
        [
            {
                "batch_id": batch.id,
                "person_id": s["person_id"],
                "version": versions[s["person_id"]],
                "snapshot": {k: v for k, v in s.items() if k != "person_id"},
            }
            for s in snapshots
        ],
    )
    audit.record(
        "signing.prepare",
        "signing_batch",
        batch.id,
        {
            "kind": [None, kind],
            "members": [None, len(snapshots)],
            "person_ids": [None, [s["person_id"] for s in snapshots]],
            "day": [None, day],
            "filters": [None, filters],
        },
        actor=user,
    )
    return batch


def batch_members(batch: SigningBatch, shown: Any = None) -> list[SigningBatchMember]:
    """The dialog's persons in its order; ``shown`` (SQL), only those it lets through."""
    return list(
        db.session.scalars(
            sa.select(SigningBatchMember)
            .where(
                SigningBatchMember.batch_id == batch.id, shown if shown is not None else sa.true()
            )
            .order_by(SigningBatchMember.id)
        )
    )


def check_batch(batch: SigningBatch, lock: bool = False) -> list[MemberCheck]:
    """Each person of the dialog, checked against the record as it is now (``lock``: the
    rows locked until the transaction ends, so a concurrent signature waits, then finds
    them confirmed)."""
    members = batch_members(batch)
    ids = [m.person_id for m in members]
    query = sa.select(Person).where(Person.id.in_(ids)).execution_options(populate_existing=True)
    persons = {p.id: p for p in db.session.scalars(query.with_for_update() if lock else query)}
    if batch.kind == DocumentKind.SITE_DAILY:
        site = db.session.get(Site, batch.site_id)
        rows = db.session.execute(
            sa.select(Person, Dose)
            .join(Dose, Dose.person_id == Person.id)
            .where(
                Dose.site_id == batch.site_id, Dose.vaccinated_on == batch.day, Person.id.in_(ids)
            )
            .order_by(Person.name_sort, Person.id, Dose.id)
        )
        current = {s["person_id"]: s for s in site_snapshots([(p, d) for p, d in rows])}
        statuses: tuple[PersonStatus, ...] = (
            tuple(s for s in PersonStatus if s != PersonStatus.CONFIRMED)
            if site is not None and site.skips_commune_cleaning
            else AWAITING
        )
        area_id = None  # a site vaccinates people of any commune
    else:
        current = {s["person_id"]: s for s in person_snapshots(list(persons.values()))}
        statuses, area_id = AWAITING, batch.area_id
    return check_members(
        members, persons, current, area_id=area_id, statuses=statuses, versioned=True
    )


@dataclass(frozen=True)
class BatchDocument:
    """What a sign dialog's list becomes: its document's kind, area, title, reason and
    place, and the builder of its PDF (the same for every way of signing it)."""

    batch: SigningBatch
    kind: DocumentKind
    area_id: int
    site_id: int | None
    title: str
    reason: str
    location: str

    def build(
        self,
        snapshots: list[dict[str, Any]],
        user: User,
        credential: SigningCredential,
        number: str,
    ) -> documents.Built:
        """The PDF of these persons, numbered ``number`` (``Số: <number>/DS-…``)."""
        if self.kind == DocumentKind.SITE_DAILY:
            site = db.session.get(Site, self.site_id)
            assert site is not None and self.batch.day is not None
            return documents.site_daily_list(
                site,
                self.batch.day,
                snapshots,
                user.display_name,
                _signer_title(credential),
                f"Số: {number}/DS-CSTC",
            )
        commune = db.session.get(Area, self.area_id)
        assert commune is not None
        return documents.committee_list(
            commune,
            snapshots,
            user.display_name,
            _signer_title(credential),
            f"Số: {number}/DS-UBND",
            today_in_vietnam(),
        )


def batch_document(batch: SigningBatch) -> BatchDocument:
    if batch.kind == DocumentKind.SITE_DAILY:
        site = db.session.get(Site, batch.site_id)
        assert site is not None and batch.day is not None
        return BatchDocument(
            batch,
            DocumentKind.SITE_DAILY,
            site.commune_id,
            site.id,
            f"Hộ chiếu vắc xin – {site.name} – {batch.day:%d/%m/%Y}",
            "Xác nhận hộ chiếu vắc xin",
            site.name,
        )
    commune = db.session.get(Area, batch.area_id)
    assert commune is not None
    return BatchDocument(
        batch,
        DocumentKind.COMMITTEE_LIST,
        commune.id,
        None,
        f"Danh sách xác nhận thông tin tiêm chủng – {commune.name}",
        "Xác nhận thông tin tiêm chủng đã được xác thực",
        commune.name,
    )


def sign_batch(
    batch: SigningBatch, user: User, pin: str, timestamper: Any = None, otp: str | None = None
) -> tuple[SignedDocument, list[MemberCheck]]:
    """Sign exactly the persons the dialog showed that are still eligible; the others are
    left out, each with its reason (kept on the batch and in the audit event). Once per
    dialog: the batch moves from ``open`` to ``signed`` in one conditional UPDATE that locks
    its row, so a second submit (or a concurrent one, which waits) signs nothing."""
    credential, signer = unlock(user, pin, otp=otp)
    if batch.state != BatchState.OPEN:
        raise SigningRefused(_l("This list has already been signed."))
    # A refusal from here on leaves nothing behind (the PIN's audit events stay).
    with provider_refusals(user, credential), db.session.begin_nested():
        return _sign_batch(batch, user, credential, signer, timestamper)


def _sign_batch(
    batch: SigningBatch, user: User, credential: SigningCredential, signer: Any, timestamper: Any
) -> tuple[SignedDocument, list[MemberCheck]]:
    if not _claim(batch, (BatchState.OPEN,), BatchState.SIGNED, signed_at=utcnow()):
        raise SigningRefused(_l("This list has already been signed."))
    checks = check_batch(batch, lock=True)
    eligible = [c.member for c in checks if c.reason is None]
    if not eligible:
        raise SigningRefused(_l("Nobody on this list can still be confirmed."))
    snapshots = [{**m.snapshot, "person_id": m.person_id} for m in eligible]
    spec = batch_document(batch)
    document = _new_document(spec.kind, spec.area_id, spec.title, user, site_id=spec.site_id)
    built = spec.build(snapshots, user, credential, str(document.id))
    reason, location = spec.reason, spec.location
    signed = _sign(
        document,
        built,
        credential,
        signer,
        user.display_name,
        reason,
        location,
        timestamper=timestamper,
    )
    _store_document(document, signed)
    _record_batch_signature(batch, document, snapshots, checks, user, method_of(credential))
    db.session.flush()
    return document, checks


def _record_batch_signature(
    batch: SigningBatch,
    document: SignedDocument,
    snapshots: list[dict[str, Any]],
    checks: list[MemberCheck],
    user: User,
    method: SigningMethod,
) -> None:
    """After the signature, whatever the key: the persons confirmed, the others left out
    with their reason, the list tied to its document; the ``document.sign`` event says how
    it was signed (``method``: server, csc or browser)."""
    skipped = [c for c in checks if c.reason is not None]
    _confirm(
        document,
        snapshots,
        user,
        "digital_signature",
        extra={"batch_id": [None, batch.id], "skipped": [None, [c.as_dict() for c in skipped]]},
        method=method,
    )
    if skipped:
        db.session.execute(
            sa.update(SigningBatchMember),
            [
                {
                    "id": c.member.id,
                    "reason": c.reason,
                    "detail": {
                        k: v for k, v in c.as_dict().items() if k not in ("person_id", "reason")
                    }
                    or None,
                }
                for c in skipped
            ],
        )
    db.session.execute(
        sa.update(SigningBatch)
        .where(SigningBatch.id == batch.id)
        .values(document_id=document.id)
        .execution_options(synchronize_session=False)
    )


def sign_committee_list(
    user: User, pin: str, filters: Filters | None = None, otp: str | None = None
) -> SignedDocument:
    """The commune's list as it is now, signed at once (the command line; in the browser
    the dialog's stored list is signed, ``sign_batch``)."""
    credential, signer = unlock(user, pin, otp=otp)
    with provider_refusals(user, credential), db.session.begin_nested():
        batch = prepare_committee(user, filters)
        return _sign_batch(batch, user, credential, signer, None)[0]


def sign_site_daily(user: User, pin: str, day: date, otp: str | None = None) -> SignedDocument:
    """The site's list of the day as it is now, signed at once (see ``sign_committee_list``)."""
    credential, signer = unlock(user, pin, otp=otp)
    with provider_refusals(user, credential), db.session.begin_nested():
        batch = prepare_site_daily(user, day)
        return _sign_batch(batch, user, credential, signer, None)[0]


def vaccine_fields(dose: Dose) -> dict[str, str]:
    """A dose's vaccine in a document's snapshot: the name printed, and the code."""
    return {"vaccine": vaccines.name_of(dose.vaccine), "vaccine_code": dose.vaccine}


def certificate_doses(person: Person) -> list[dict[str, Any]]:
    return [
        {
            "dose_number": d.dose_number,
            **vaccine_fields(d),
            "lot": d.lot,
            "vaccinated_on_text": documents.dose_date_text(d.vaccinated_on),
            "site": d.site.name if d.site is not None else "",
        }
        for d in person.doses
    ]


def sign_certificate(
    user: User,
    credential: SigningCredential,
    signer: Any,
    person: Person,
    timestamper: Any = None,
    base_url: str | None = None,
) -> SignedDocument:
    """One person's vaccination certificate (the person must be confirmed already). Once:
    the person's row is locked and checked without a valid certificate (``AlreadyCertified``
    otherwise: two batches at once sign each person once; a unique index holds it too)."""
    signed, already = sign_certificates_together(
        user, credential, signer, [person], timestamper, base_url
    )
    if already:
        raise AlreadyCertified(_l("This person already has a valid certificate."))
    return signed[0][0]


def sign_certificates_together(
    user: User,
    credential: SigningCredential,
    signer: Any,
    persons: list[Person],
    timestamper: Any = None,
    base_url: str | None = None,
) -> tuple[list[tuple[SignedDocument, Person]], int]:
    """Certificates for these persons, signed together (a remote signer: one authorisation
    for all their hashes); those already certified meanwhile are counted and skipped. The
    caller holds the savepoint that a refusal rolls back."""
    prepared: list[tuple[SignedDocument, documents.Built, str, str | None]] = []
    certified: list[Person] = []
    for person in persons:
        locked(person)
        if person.status != PersonStatus.CONFIRMED:
            raise SigningRefused(_l("Only a confirmed person gets a certificate."))
        if db.session.scalar(
            sa.select(_has_certificate().where(DocumentMember.person_id == person.id))
        ):
            continue
        commune = user.area
        document = _new_document(
            DocumentKind.CERTIFICATE,
            person.commune_id,
            f"Chứng nhận tiêm chủng vắc xin COVID-19 – {person.full_name}",
            user,
        )
        heading = documents.commune_heading(
            commune, f"Số: {document.id}/CN-UBND", today_in_vietnam()
        )
        built = documents.certificate(
            heading,
            member_snapshot(person),
            certificate_doses(person),
            verify_url(document.code, base_url),
            document.code,
            user.display_name,
            ["TM. ỦY BAN NHÂN DÂN", _signer_title(credential).upper()],
        )
        prepared.append((document, built, "Chứng nhận tiêm chủng", commune.name))
        certified.append(person)
    if not prepared:
        return [], len(persons)
    signed = _sign_many(prepared, credential, signer, user.display_name, timestamper)
    for (document, *_rest), person, content in zip(prepared, certified, signed, strict=True):
        _store_document(document, content)
        db.session.add(
            DocumentMember(
                document_id=document.id,
                person_id=person.id,
                basis=CERTIFIED,
                snapshot=member_snapshot(person),
            )
        )
        document.member_count = 1
    db.session.flush()
    for (document, *_rest), person in zip(prepared, certified, strict=True):
        record_signing(document, user, method_of(credential), {"person_ids": [None, [person.id]]})
    pairs = [(p[0], person) for p, person in zip(prepared, certified, strict=True)]
    return pairs, len(persons) - len(prepared)


def _has_certificate() -> sa.Exists:
    """A valid certificate's entry (add which person's)."""
    return sa.exists().where(
        DocumentMember.superseded_at.is_(None),
        DocumentMember.document_id == SignedDocument.id,
        SignedDocument.kind == DocumentKind.CERTIFICATE,
        SignedDocument.state == DocumentState.VALID,
    )


def confirmed_without_certificate(commune_id: int) -> list[int]:
    """Confirmed persons of the commune with no valid certificate yet."""
    has_certificate = _has_certificate().where(DocumentMember.person_id == Person.id)
    return list(
        db.session.scalars(
            sa.select(Person.id)
            .where(
                Person.commune_id == commune_id,
                Person.status == PersonStatus.CONFIRMED,
                ~has_certificate,
            )
            .order_by(Person.name_sort, Person.id)
        )
    )


# --- minutes (biên bản) ---------------------------------------------------------------------


SCAN_TYPES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}


def sniff_scan(content: bytes) -> tuple[str, str] | None:
    for magic, kind in SCAN_TYPES.items():
        if content.startswith(magic):
            return kind
    return None


def scan_parses(content: bytes, media_type: str) -> bool:
    """Whether the whole file reads as what its first bytes claim: a PDF whose first page
    pyHanko's reader finds, or an image Pillow decodes to its last pixel. A few magic bytes
    followed by anything else are not a scan."""
    try:
        if media_type == "application/pdf":
            reader = PdfFileReader(BytesIO(content), strict=False)
            if reader.encrypted:
                return False
            reader.find_page_for_modification(0)
            return True
        with warnings.catch_warnings():
            # Pillow only warns below twice its pixel limit; a scan that large is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(content), formats=[media_type.split("/")[1].upper()]) as image:
                image.load()
        return True
    except Exception:  # a damaged file: both readers raise many kinds of errors
        return False


def print_minutes(user: User, filters: Filters | None = None) -> Minutes:
    """Number the minutes and freeze them: exactly the persons awaiting confirmation under
    ``filters`` now, their data as printed, and the PDF as printed. Whatever the awaiting
    page shows later, the signed scan of these minutes confirms these persons only."""
    commune = user.area
    persons, total = awaiting_committee(commune.id, filters)
    _guard_size(total)
    snapshots = person_snapshots(persons)
    minutes = Minutes(
        area_id=commune.id,
        state=MinutesState.PRINTED,
        title=f"Biên bản xác nhận thông tin tiêm chủng – {commune.name}"[:300],
        created_by_id=user.id,
        created_at=utcnow(),
        path="",
        sha256="",
        member_count=len(snapshots),
    )
    db.session.add(minutes)
    db.session.flush()
    db.session.execute(
        sa.insert(MinutesMember),
        [
            {
                "minutes_id": minutes.id,
                "person_id": s["person_id"],
                "snapshot": {k: v for k, v in s.items() if k != "person_id"},
            }
            for s in snapshots
        ],
    )
    content = documents.minutes(
        commune, snapshots, f"Số: {minutes.id}/BB-UBND", vietnam_date(minutes.created_at)
    )
    relative = f"minutes/{minutes.id}.pdf"
    _store(relative, content)
    minutes.path = relative
    minutes.sha256 = hashlib.sha256(content).hexdigest()
    db.session.flush()
    audit.record(
        "minutes.print",
        "minutes",
        minutes.id,
        {
            "state": [None, MinutesState.PRINTED],
            "members": [None, len(snapshots)],
            "person_ids": [None, [s["person_id"] for s in snapshots]],
            "sha256": [None, minutes.sha256],
            "filters": [
                None,
                {
                    "status": getattr(filters, "status", None),
                    "search": getattr(filters, "search", None),
                },
            ],
        },
        actor=user,
    )
    return minutes


def minutes_content(minutes: Minutes) -> bytes:
    """The PDF as it was printed, checked against its recorded SHA-256."""
    return _read_stored(minutes.path, minutes.sha256)


def minutes_scan(minutes: Minutes) -> bytes:
    if not minutes.scan_path or not minutes.scan_sha256:
        raise SigningRefused(_l("No scan has been uploaded for these minutes."))
    return _read_stored(minutes.scan_path, minutes.scan_sha256)


def _claim(
    row: Minutes | SigningBatch, sources: tuple[Any, ...], target: Any, **values: Any
) -> bool:
    """Move minutes or a sign dialog's list from one of ``sources`` to ``target`` in one
    conditional UPDATE: it locks the row (PostgreSQL's row lock, SQLite's write lock) and
    checks the state it starts from, so of two identical submits the second finds nothing
    to change."""
    model = type(row)
    result: Any = db.session.execute(
        sa.update(model)
        .where(model.id == row.id, model.state.in_(sources))
        .values(state=target, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(row)
    return bool(result.rowcount)


def upload_minutes_scan(minutes: Minutes, user: User, content: bytes) -> Minutes:
    """Attach the scan of the signed paper to its minutes; nobody is confirmed yet (the
    confirmation step shows who will be). A new scan replaces one not yet confirmed."""
    kind = sniff_scan(content)
    if kind is None:
        raise SigningRefused(_l("The scan must be a PDF, JPEG or PNG file."))
    limit = int(current_app.config.get("SIGNING_MAX_SCAN_BYTES") or 10 * 1024 * 1024)
    if len(content) > limit:
        raise SigningRefused(
            _l("The scan is larger than %(size)s MB.", size=limit // (1024 * 1024))
        )
    if not scan_parses(content, kind[0]):
        raise SigningRefused(
            _l(
                "The scan cannot be read as a PDF or an image: "
                "scan the signed minutes again and upload that file."
            )
        )
    old_sha = minutes.scan_sha256
    old_state = minutes.state
    relative = f"minutes/{minutes.id}-scan-{secrets.token_hex(6)}.{kind[1]}"
    digest = hashlib.sha256(content).hexdigest()
    if not _claim(
        minutes,
        (MinutesState.PRINTED, MinutesState.UPLOADED),
        MinutesState.UPLOADED,
        scan_path=relative,
        scan_sha256=digest,
        scan_media_type=kind[0],
        uploaded_by_id=user.id,
        uploaded_at=utcnow(),
    ):
        raise SigningRefused(_l("These minutes have already been confirmed."))
    _store(relative, content)
    audit.record(
        "minutes.upload",
        "minutes",
        minutes.id,
        {
            "state": [old_state, MinutesState.UPLOADED],
            "scan_sha256": [old_sha, digest],
            "media_type": [None, kind[0]],
            "bytes": [None, len(content)],
        },
        actor=user,
    )
    return minutes


@dataclass(frozen=True)
class MemberCheck:
    """One listed person (of minutes or of a sign dialog), and why they cannot be confirmed
    now (None: they can)."""

    member: Any  # MinutesMember or SigningBatchMember
    reason: str | None = None  # moved, confirmed, status, dose, changed
    status: str | None = None  # the status now, for ``status``
    fields: tuple[str, ...] = ()  # the fields changed since listed, for ``changed``

    def as_dict(self) -> dict[str, Any]:
        return {
            "person_id": self.member.person_id,
            "reason": self.reason,
            **({"status": self.status} if self.status else {}),
            **({"fields": list(self.fields)} if self.fields else {}),
        }


MinutesCheck = MemberCheck
IDENTITY_ORDER = ("full_name", "sex", "birth_date", "birth_precision", "id_number")


def check_members(
    members: list[Any],
    persons: dict[int, Person],
    current: dict[int, dict[str, Any]],
    *,
    area_id: int | None,
    statuses: tuple[PersonStatus, ...] = AWAITING,
    keys: tuple[str, ...] | None = None,
    versioned: bool = False,
) -> list[MemberCheck]:
    """Each listed person (in listed order) against the record now: ``current`` holds what
    would be listed now, compared on ``keys`` (all the listed ones by default); with
    ``versioned`` any edit of the record since (its version) counts as a change too.
    ``area_id``: the commune the person must still live in (None: any)."""
    checks = []
    for member in members:
        person = persons.get(member.person_id)
        now = current.get(member.person_id)
        if person is None or (area_id is not None and person.commune_id != area_id):
            checks.append(MemberCheck(member, "moved"))
        elif person.status == PersonStatus.CONFIRMED:
            checks.append(MemberCheck(member, "confirmed"))
        elif person.status not in statuses:
            checks.append(MemberCheck(member, "status", status=person.status.value))
        elif now is None:
            checks.append(MemberCheck(member, "dose"))
        else:
            compared = keys or tuple(k for k in member.snapshot if k != "person_id")
            changed = tuple(k for k in compared if now.get(k) != member.snapshot.get(k))
            if changed or (versioned and person.version != member.version):
                checks.append(MemberCheck(member, "changed", fields=changed))
            else:
                checks.append(MemberCheck(member))
    return checks


def check_minutes(minutes: Minutes) -> list[MemberCheck]:
    """Each printed person, checked against the record as it is now, in printed order."""
    members = list(
        db.session.scalars(
            sa.select(MinutesMember)
            .where(MinutesMember.minutes_id == minutes.id)
            .order_by(MinutesMember.id)
        )
    )
    persons = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Person).where(Person.id.in_([m.person_id for m in members]))
        )
    }
    current = {pid: member_snapshot(p) for pid, p in persons.items()}
    return check_members(members, persons, current, area_id=minutes.area_id, keys=IDENTITY_ORDER)


def confirm_minutes(minutes: Minutes, user: User) -> SignedDocument:
    """The uploaded scan confirms the persons of these minutes that are still eligible; the
    others are listed in the audit event with their reason. Runs once per minutes."""
    if not _claim(minutes, (MinutesState.UPLOADED,), MinutesState.CONFIRMED, confirmed_at=utcnow()):
        if minutes.state == MinutesState.CONFIRMED:
            raise SigningRefused(_l("These minutes have already been confirmed."))
        raise SigningRefused(_l("Upload the scan of the signed minutes first."))
    checks = check_minutes(minutes)
    eligible = [c.member for c in checks if c.reason is None]
    if not eligible:
        raise SigningRefused(_l("Nobody on these minutes can still be confirmed."))
    scan = minutes_scan(minutes)  # refuses a scan missing or altered since the upload
    document = _new_document(
        DocumentKind.MINUTES, minutes.area_id, f"{minutes.title} – Số {minutes.id}/BB-UBND", user
    )
    document.media_type = minutes.scan_media_type or "application/pdf"
    document.signer_name = user.display_name
    document.path = minutes.scan_path or ""
    document.sha256 = hashlib.sha256(scan).hexdigest()
    _confirm(
        document, [{**m.snapshot, "person_id": m.person_id} for m in eligible], user, "minutes"
    )
    db.session.execute(
        sa.update(Minutes)
        .where(Minutes.id == minutes.id)
        .values(document_id=document.id)
        .execution_options(synchronize_session=False)
    )
    skipped = [c.as_dict() for c in checks if c.reason is not None]
    audit.record(
        "minutes.confirm",
        "minutes",
        minutes.id,
        {
            "state": [MinutesState.UPLOADED, MinutesState.CONFIRMED],
            "document_id": [None, document.id],
            "confirmed": [None, [m.person_id for m in eligible]],
            "skipped": [None, skipped],
            "scan_sha256": [None, minutes.scan_sha256],
        },
        actor=user,
    )
    return document


# --- supersession ---------------------------------------------------------------------------


def supersede_person(person: Person, actor: Any = None) -> int:
    """A confirmed person's record changed: their confirmation no longer holds. The documents
    stay valid for everyone else. Returns how many document entries were superseded."""
    now = utcnow()
    result: Any = db.session.execute(
        sa.update(DocumentMember)
        .where(DocumentMember.person_id == person.id, DocumentMember.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )
    count = result.rowcount
    old = person.status
    if old == PersonStatus.CONFIRMED:
        person.status = PersonStatus.NEEDS_RECONFIRMATION
    db.session.flush()
    audit.record(
        "person.supersede_confirmation",
        "person",
        person.id,
        {"status": [old, person.status], "documents": [None, count]},
        actor=actor,
    )
    return count or 0


def revoke_document(document: SignedDocument, reason: str, actor: Any = None) -> list[int]:
    """Withdraw a signed document (signed in error, wrong persons, a compromised key): its
    state becomes ``revoked``, which verification shows; the persons it confirmed and that
    nothing later confirmed return to ``needs_reconfirmation``. Returns their ids."""
    reason = (reason or "").strip()
    if not reason:
        raise SigningRefused(_l("Give the reason for revoking the document."))
    if document.state == DocumentState.REVOKED:
        raise SigningRefused(_l("This document has already been revoked."))
    in_force = sa.and_(
        DocumentMember.document_id == document.id, DocumentMember.superseded_at.is_(None)
    )
    person_ids = list(
        db.session.scalars(
            sa.select(DocumentMember.person_id).where(in_force).order_by(DocumentMember.person_id)
        )
    )
    db.session.execute(
        sa.update(DocumentMember)
        .where(in_force)
        .values(superseded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    reopened = list(
        db.session.scalars(
            sa.update(Person)
            .where(Person.id.in_(person_ids), Person.status == PersonStatus.CONFIRMED)
            .values(
                status=PersonStatus.NEEDS_RECONFIRMATION,
                version=Person.version + 1,
                updated_at=utcnow(),
            )
            .returning(Person.id)
            .execution_options(synchronize_session=False)
        )
    )
    document.state = DocumentState.REVOKED
    db.session.flush()
    db.session.expire_all()
    audit.record(
        "document.revoke",
        "signed_document",
        document.id,
        {
            "state": [DocumentState.VALID, DocumentState.REVOKED],
            "sha256": [None, document.sha256],
            "person_ids": [None, sorted(reopened)],
            "status": [PersonStatus.CONFIRMED, PersonStatus.NEEDS_RECONFIRMATION],
        },
        reason=reason,
        actor=actor,
    )
    return sorted(reopened)


def revocation_event(document: SignedDocument) -> Any:
    """The audit event that revoked the document (who, when, why), or None."""
    if document.state != DocumentState.REVOKED:
        return None
    return db.session.scalar(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action == "document.revoke",
            AuditEvent.entity_type == "signed_document",
            AuditEvent.entity_id == str(document.id),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def identity_changed(changes: dict[str, Any]) -> bool:
    return bool(IDENTITY_FIELDS.intersection(changes))


def documents_of_person(person_id: int, scope: Any) -> list[tuple[SignedDocument, DocumentMember]]:
    """The documents that confirm or certify a person (newest first), within ``scope``."""
    rows = db.session.execute(
        sa.select(SignedDocument, DocumentMember)
        .join(DocumentMember, DocumentMember.document_id == SignedDocument.id)
        .where(DocumentMember.person_id == person_id, scope)
        .order_by(SignedDocument.signed_at.desc(), SignedDocument.id.desc())
        .limit(50)
    )
    return [(document, member) for document, member in rows]


def document_members(
    document: SignedDocument, shown: Any = None, limit: int = 2000
) -> tuple[list[DocumentMember], int]:
    """The document's members in its order and how many ``shown`` (SQL on the member; None:
    all) holds back, counted in the database: a reduced view never loads the others."""
    query = sa.select(DocumentMember).where(DocumentMember.document_id == document.id)
    if shown is None:
        return list(db.session.scalars(query.order_by(DocumentMember.id).limit(limit))), 0
    members = list(db.session.scalars(query.where(shown).order_by(DocumentMember.id).limit(limit)))
    hidden = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(DocumentMember)
        .where(DocumentMember.document_id == document.id, ~shown)
    )
    return members, hidden or 0


def certificate_names(document_ids: list[int]) -> dict[int, str]:
    """Each certificate's person, as the certificate carries the name."""
    if not document_ids:
        return {}
    rows = db.session.execute(
        sa.select(DocumentMember.document_id, DocumentMember.snapshot)
        .join(SignedDocument, SignedDocument.id == DocumentMember.document_id)
        .where(
            DocumentMember.document_id.in_(document_ids),
            SignedDocument.kind == DocumentKind.CERTIFICATE,
        )
    )
    return {document_id: (snapshot or {}).get("full_name") or "" for document_id, snapshot in rows}


# --- reading documents ----------------------------------------------------------------------


def stored_content(document: SignedDocument) -> bytes:
    return _read_stored(document.path, document.sha256)


def _read_stored(relative: str, sha256: str) -> bytes:
    root = document_root().resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise SigningRefused(_l("The stored document is missing or has been altered."))
    try:
        content = path.read_bytes()
    except OSError as error:
        raise SigningRefused(_l("The stored document is missing or has been altered.")) from error
    if hashlib.sha256(content).hexdigest() != sha256:
        raise SigningRefused(_l("The stored document is missing or has been altered."))
    return content


@dataclass
class PortalState:
    document: SignedDocument
    members: int
    superseded_rows: list[int]  # 1-based row numbers in the document
    superseded_names: list[str] = field(default_factory=list)  # as the document carries them

    @property
    def state(self) -> str:
        if self.document.state == DocumentState.REVOKED:
            return "revoked"
        if self.superseded_rows and len(self.superseded_rows) >= self.members:
            return "superseded"
        if self.superseded_rows:
            return "partly_superseded"
        return "valid"

    @property
    def superseded(self) -> list[tuple[int, str]]:
        return list(zip(self.superseded_rows, self.superseded_names, strict=True))


def portal_state(document: SignedDocument) -> PortalState:
    rows = db.session.execute(
        sa.select(DocumentMember.superseded_at, DocumentMember.snapshot)
        .where(DocumentMember.document_id == document.id)
        .order_by(DocumentMember.id)
    ).all()
    superseded = [
        (index, (snapshot or {}).get("full_name") or "")
        for index, (moment, snapshot) in enumerate(rows, 1)
        if moment is not None
    ]
    return PortalState(document, len(rows), [i for i, _ in superseded], [n for _, n in superseded])


@dataclass(frozen=True)
class Outcome:
    """What a citizen or a border officer is told: the signature's verdict and the
    portal's state in one answer, the same on /verify, the QR link and ``flask verify-pdf``.

    ``verdict``: ``valid``; ``partly_valid`` (valid for the persons of the document except
    ``state.superseded``); ``not_valid``. ``reason`` says why it is not wholly valid:
    ``unreadable``, ``signature`` (see the signature's details), ``revoked``,
    ``superseded`` (every person's record changed), ``partly_superseded``.
    """

    verdict: str
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict != "not_valid"


def outcome(verdict: core.Verdict | None, state: PortalState | None) -> Outcome:
    if verdict is not None and not verdict.readable:
        return Outcome("not_valid", "unreadable")
    if verdict is not None and any(s.revoked for s in verdict.signatures):
        return Outcome("not_valid", "certificate_revoked")
    if verdict is not None and not verdict.ok:
        return Outcome("not_valid", "signature")
    if state is None:
        return Outcome("valid")
    if state.state in ("revoked", "superseded"):
        return Outcome("not_valid", state.state)
    if state.state == "partly_superseded":
        return Outcome("partly_valid", "partly_superseded")
    return Outcome("valid")


def document_by_hash(content: bytes) -> SignedDocument | None:
    digest = hashlib.sha256(content).hexdigest()
    return db.session.scalar(sa.select(SignedDocument).where(SignedDocument.sha256 == digest))


def document_by_code(code: str) -> SignedDocument | None:
    if not code or len(code) > 40:
        return None
    return db.session.scalar(sa.select(SignedDocument).where(SignedDocument.code == code))


def verify_content(content: bytes) -> core.Verdict:
    return core.validate(content, trust_roots(), fetch=revocation_fetch())


class VerdictCache:
    """Verdicts of pyHanko (the expensive part of a verification: tens of milliseconds of
    CPU for each signature) kept in this process, least recently used first out.

    The key is the document's bytes (their SHA-256), the trust roots, and the document's
    state in the portal (revoked, superseded rows): a verdict for the same bytes is reused
    until one of them changes. The state does not change pyHanko's answer, but keying on
    it means no path can ever show a verdict taken before a revocation. An entry also
    expires after ``ttl`` seconds, because a certificate's validity depends on the clock.
    In-process rather than a table: a verdict is a tree of objects that would need its own
    serialisation, each worker warms its own copy in a few requests, and a restart costing
    one validation per document is harmless. A lock, because a worker may run threads.
    """

    def __init__(self, size: int = 512, ttl: float = 600.0) -> None:
        self.size, self.ttl = size, ttl
        self._entries: OrderedDict[tuple, tuple[float, core.Verdict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> core.Verdict | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry[0] > self.ttl:
                self._entries.pop(key, None)
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: tuple, verdict: core.Verdict) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic(), verdict)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


VERDICTS = VerdictCache()


def _roots_key(roots: list[x509.Certificate]) -> bytes:
    digest = hashlib.sha256()
    for root in roots:
        digest.update(root.public_bytes(serialization.Encoding.DER))
    return digest.digest()


def _revocations_key() -> int:
    """The demo PKI's state changes with each revocation (any process's): a verdict taken
    before one is not reused after it. A licensed CA's revocations wait for the TTL."""
    path = demo_pki_dir() / demo_pki.STATE_FILE
    return path.stat().st_mtime_ns if path.is_file() else 0


def _state_key(state: PortalState | None) -> tuple | None:
    if state is None:
        return None
    return (state.document.id, state.state, tuple(state.superseded_rows))


def verify_cached(content: bytes, state: PortalState | None) -> core.Verdict:
    """``verify_content``, reused for the same bytes, trust roots and portal state (the
    public page: one validation per document and state, however often it is asked)."""
    roots = trust_roots()
    key = (
        hashlib.sha256(content).hexdigest(),
        _roots_key(roots),
        _state_key(state),
        _revocations_key(),
    )
    verdict = VERDICTS.get(key)
    if verdict is None:
        verdict = core.validate(content, roots, fetch=revocation_fetch())
        VERDICTS.put(key, verdict)
    return verdict


def record_verification(
    document: SignedDocument | None,
    verdict: core.Verdict | None,
    source: str,
    sha256: str | None = None,
) -> None:
    """A verification by staff or by the CLI: an audit event."""
    audit.record(
        "document.verify",
        "signed_document",
        document.id if document else None,
        {
            "source": [None, source],
            "sha256": [None, sha256],
            "ok": [None, verdict.ok if verdict else None],
        },
    )


def count_verification(document: SignedDocument | None, source: str) -> None:
    """An anonymous verification: one more in the document's count for today, in one upsert
    (no audit event: anyone may ask, as often as the rate limit lets them). Bytes the
    portal did not issue are not counted: they belong to no document."""
    if document is None:
        return
    db.session.execute(
        _count_upsert(db.engine.dialect.name),
        {"day": today_in_vietnam(), "document_id": document.id, "source": source},
    )


@cache
def _count_upsert(dialect: str) -> Any:
    table = cast(sa.Table, VerificationCount.__table__)
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values(count=1)
        .on_conflict_do_update(
            index_elements=["day", "document_id", "source"], set_={"count": table.c.count + 1}
        )
    )


# --- the police handover list ---------------------------------------------------------------


def handover_slot(worklist: Any) -> tuple[int, tuple[int, int, int, int]]:
    """Where the stamp goes on the frozen handover PDF: the gap above the creator's name, found
    by laying the (deterministic) document out again."""
    gap: dict[str, Any] = {}
    handover_pdf.build_pdf(
        worklist,
        handover_services.members_of(worklist),
        handover_services.creator_name(worklist),
        worklist.handed_over_at,
        signature_gap=gap,
    )
    x, y = gap.get("x", 330), gap.get("y", 200)
    width = min(gap.get("width", 200), 200)
    return int(gap.get("page", 0)), (int(x + 4), int(y - 52), int(x + 4 + width), int(y - 2))


def handover_document(worklist_id: int) -> SignedDocument | None:
    """The police's signed copy of a handover list, once signed (one per list)."""
    return db.session.scalar(
        sa.select(SignedDocument)
        .where(
            SignedDocument.worklist_id == worklist_id,
            SignedDocument.kind == DocumentKind.HANDOVER_LIST,
        )
        .limit(1)
    )


def check_handover(worklist: Any) -> None:
    """SigningRefused unless the list is a handed-over list not signed yet."""
    if worklist.kind != WorklistKind.HANDOVER or worklist.state == WorklistState.DRAFT:
        raise SigningRefused(_l("Only a handed-over list can be signed."))
    if handover_document(worklist.id) is not None:
        raise SigningRefused(_l("This list has already been signed."))


def handover_frozen(worklist: Any) -> documents.Built:
    """The handover PDF as frozen at hand-over, and where its stamp goes."""
    try:
        frozen = handover_services.stored_document(worklist)
    except handover_services.HandoverError as error:
        raise SigningRefused(str(error)) from error
    page, box = handover_slot(worklist)
    return documents.Built(frozen, documents.Slot(page, box))


HANDOVER_REASON = "Bàn giao kết quả xác minh"


def sign_handover(user: User, pin: str, worklist: Any, otp: str | None = None) -> SignedDocument:
    """The police officer signs the handover list exactly as it was frozen at hand-over: the
    signature is an incremental update, so the signed file begins with the frozen bytes."""
    check_handover(worklist)
    credential, signer = unlock(user, pin, otp=otp)
    built = handover_frozen(worklist)
    # A refusal from here on leaves nothing behind (its audit event stays).
    with provider_refusals(user, credential), db.session.begin_nested():
        document = _new_document(
            DocumentKind.HANDOVER_LIST,
            worklist.area_id,
            worklist.title,
            user,
            worklist_id=worklist.id,
        )
        signed = _sign(
            document,
            built,
            credential,
            signer,
            user.display_name,
            HANDOVER_REASON,
            worklist.area.name,
        )
        _store_document(document, signed)
        _record_handover_signature(document, worklist, user, method_of(credential))
        return document


def _record_handover_signature(
    document: SignedDocument, worklist: Any, user: User, method: SigningMethod
) -> None:
    """After the handover list's signature, whatever the key: its persons recorded (no
    confirmation), one ``document.sign`` event saying how it was signed."""
    members = list(
        db.session.scalars(
            sa.select(WorklistMember)
            .where(WorklistMember.worklist_id == worklist.id)
            .order_by(WorklistMember.id)
        )
    )
    if members:
        db.session.execute(
            sa.insert(DocumentMember),
            [
                {"document_id": document.id, "person_id": m.person_id, "snapshot": m.snapshot}
                for m in members
            ],
        )
    document.member_count = len(members)
    db.session.flush()
    record_signing(
        document,
        user,
        method,
        {
            "worklist_id": [None, worklist.id],
            "frozen_sha256": [None, worklist.document_sha256],
            "members": [None, len(members)],
        },
    )
