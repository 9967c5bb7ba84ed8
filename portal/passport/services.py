"""The passport's writes: Document Signers added to the token, passports issued and
revoked. Each flushes and records an audit event; the caller (command, job) commits."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import current_app

from portal.audit import services as audit
from portal.core import clock
from portal.core.files import private_dir, write_private
from portal.extensions import db
from portal.passport import hcert, keys, payload, token, uvci
from portal.passport.models import DocumentSigner, Passport
from portal.records.models import Dose, Person, Vaccine
from portal.signing.models import CONFIRMATION, DocumentMember


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def token_settings() -> dict[str, str]:
    config = current_app.config
    return {
        "module": str(config.get("SIGNING_PKCS11_MODULE") or token.DEFAULT_MODULE),
        "token_label": str(config["DCC_TOKEN_LABEL"]),
        "pin": str(config.get("DCC_TOKEN_PIN") or ""),
    }


def certificate_of(signer: DocumentSigner) -> x509.Certificate:
    return x509.load_pem_x509_certificate(signer.certificate_pem.encode())


def csca_dir() -> Path:
    configured = current_app.config.get("DCC_CSCA_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "dcc-csca"


def country_signing_ca(create: bool = False) -> keys.CountrySigningCA:
    """The demo's Country Signing CA, kept in DCC_CSCA_DIR (made on first use with
    ``create``). A real deployment keeps its CSCA offline and brings DSCs in."""
    folder = csca_dir()
    cert_file, key_file = folder / "csca.pem", folder / "csca-key.pem"
    if not cert_file.exists():
        if not create:
            raise FileNotFoundError(cert_file)
        made = keys.make_csca(clock.now())
        private_dir(folder)
        write_private(key_file, made.key_pem())
        write_private(cert_file, made.certificate.public_bytes(serialization.Encoding.PEM))
        return made
    return keys.load_csca(cert_file.read_bytes(), key_file.read_bytes())


def signers() -> list[DocumentSigner]:
    return list(db.session.scalars(sa.select(DocumentSigner).order_by(DocumentSigner.id)))


def add_signer(csca: keys.CountrySigningCA, label: str | None = None) -> DocumentSigner:
    """A new Document Signer: a key pair made in the token, certified by the CSCA. The
    newest DSC signs from now on (key rollover); the older stay in the trust list."""
    now = clock.now()
    settings = token_settings()
    label = label or f"dsc-{now:%Y%m%d%H%M%S}-{secrets.token_hex(2)}"
    with token.session(**settings) as opened:
        public = token.generate_key(opened, label)
    certificate = keys.make_dsc(csca, public, now, f"DSC Viet Nam {label}")
    row = DocumentSigner(
        kid=hcert.kid_of(certificate).hex(),
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode(),
        token_label=settings["token_label"],
        key_label=label,
        not_before=_naive(certificate.not_valid_before_utc),
        not_after=_naive(certificate.not_valid_after_utc),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "passport.signer_added",
        "dcc_signer",
        row.id,
        {"kid": [None, row.kid], "key_label": [None, label]},
    )
    return row


def trust_list(now: datetime | None = None) -> dict[bytes, x509.Certificate]:
    """The DSCs a verifier trusts now, by kid (old ones included until they expire)."""
    return keys.trusted([certificate_of(s) for s in signers()], now or clock.now())


def current_signer(now: datetime | None = None) -> DocumentSigner | None:
    moment = now or clock.now()
    by_kid = {s.kid: s for s in signers()}
    chosen = keys.current([certificate_of(s) for s in by_kid.values()], moment)
    return by_kid[hcert.kid_of(chosen).hex()] if chosen is not None else None


@contextmanager
def signing() -> Iterator[tuple[DocumentSigner, token.TokenSigner]]:
    """The current DSC and its key, in one token session for a whole batch."""
    row = current_signer()
    if row is None:
        raise token.TokenUnavailable("no Document Signer can sign now")
    settings = token_settings()
    with token.session(settings["module"], row.token_label, settings["pin"]) as opened:
        yield row, token.TokenSigner(opened, row.key_label, bytes.fromhex(row.kid))


def products() -> dict[str, payload.Product]:
    return {
        v.code: payload.Product(v.code, v.prophylaxis_code, v.manufacturer_code)
        for v in db.session.scalars(sa.select(Vaccine))
    }


def confirmation_of(person_id: int) -> DocumentMember | None:
    """The person's confirmation in force (a signed list or minutes), if any."""
    return db.session.scalar(
        sa.select(DocumentMember).where(
            DocumentMember.person_id == person_id,
            DocumentMember.basis == CONFIRMATION,
            DocumentMember.superseded_at.is_(None),
        )
    )


def in_force(person_id: int) -> Passport | None:
    return db.session.scalar(
        sa.select(Passport).where(Passport.person_id == person_id, Passport.revoked_at.is_(None))
    )


def build_payload(person: Person, products_by_code: dict[str, payload.Product], ci: str) -> Any:
    doses = [
        payload.Dose(d.dose_number, d.vaccine, d.vaccinated_on)
        for d in db.session.scalars(sa.select(Dose).where(Dose.person_id == person.id))
    ]
    holder = payload.Holder(
        person.full_name, person.birth_date, str(person.birth_precision), person.nationality
    )
    return payload.build(holder, doses, products_by_code, current_app.config["DCC_ISSUER_NAME"], ci)


def issue(
    person: Person,
    signer_row: DocumentSigner,
    signer: hcert.Signer,
    actor: Any = None,
    products_by_code: dict[str, payload.Product] | None = None,
) -> Passport:
    """A passport for a confirmed person (payload.NotIssuable says why not). A passport
    still in force is kept: the person has one."""
    found = in_force(person.id)
    if found is not None:
        return found
    confirmation = confirmation_of(person.id)
    if confirmation is None:
        raise payload.NotIssuable(payload.Reason.NOT_CONFIRMED)
    ci = uvci.new()
    built = build_payload(person, products_by_code or products(), ci)
    now = clock.now()
    row = Passport(
        person_id=person.id,
        uvci=ci,
        signer_id=signer_row.id,
        issued_at=_naive(now),
        expires_at=_naive(hcert.expiry(now)),
        hc1=hcert.issue(built, signer, now),
        confirmation_id=confirmation.id,
        issued_by_id=getattr(actor, "id", None),
    )
    db.session.add(row)
    db.session.flush()
    audit.record(
        "passport.issued",
        "person",
        person.id,
        {"passport": [None, ci], "kid": [None, signer_row.kid]},
        actor=actor,
    )
    return row


def revoke(passport: Passport, reason: str, actor: Any = None) -> None:
    if passport.revoked_at is not None:
        return
    passport.revoked_at = clock.utcnow()
    passport.revoked_reason = reason
    db.session.flush()
    audit.record(
        "passport.revoked",
        "person",
        passport.person_id,
        {"passport": [passport.uvci, None]},
        reason=reason,
        actor=actor,
    )


def revoked_uvcis() -> set[str]:
    return set(db.session.scalars(sa.select(Passport.uvci).where(Passport.revoked_at.is_not(None))))


def uvci_hash(ci: str) -> str:
    """The DCC revocation list's UCI hash: SHA-256 of the UVCI, first 128 bits, Base64."""
    return base64.b64encode(hashlib.sha256(ci.encode()).digest()[:16]).decode()


def verify(text: str, now: datetime | None = None) -> hcert.Reading:
    """Read an HC1: text against the published trust list and the revoked UVCIs."""
    moment = now or clock.now()
    return hcert.read(text, trust_list(moment), moment, revoked_uvcis())


# Publication ------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def published_trust_list(now: datetime | None = None) -> list[dict[str, Any]]:
    """The DSCs in the DCC gateway's trust-list shape (its TrustListItem: kid, timestamp,
    country, certificateType, thumbprint, rawData), with each certificate's validity.
    Expired DSCs are left out; the older ones still valid stay (key rollover)."""
    moment = now or clock.now()
    out = []
    for row in signers():
        certificate = certificate_of(row)
        if not certificate.not_valid_before_utc <= moment < certificate.not_valid_after_utc:
            continue
        der = certificate.public_bytes(serialization.Encoding.DER)
        out.append(
            {
                "kid": _b64(bytes.fromhex(row.kid)),
                "timestamp": _aware(row.created_at).isoformat(),
                "country": keys.COUNTRY,
                "certificateType": "DSC",
                "thumbprint": hashlib.sha256(der).hexdigest(),
                "rawData": _b64(der),
                "notBefore": certificate.not_valid_before_utc.isoformat(),
                "notAfter": certificate.not_valid_after_utc.isoformat(),
            }
        )
    return out


def published_revocations(now: datetime | None = None) -> dict[str, Any]:
    """Revoked passports not yet expired, in the DCC revocation batch shape: one batch per
    DSC, ``hashType`` UCI (SHA-256 of the UVCI, first 128 bits, Base64)."""
    moment = _naive(now or clock.now())
    rows = db.session.execute(
        sa.select(DocumentSigner.kid, Passport.uvci, Passport.expires_at)
        .join(DocumentSigner, DocumentSigner.id == Passport.signer_id)
        .where(Passport.revoked_at.is_not(None), Passport.expires_at > moment)
        .order_by(DocumentSigner.kid, Passport.uvci)
    ).all()
    batches: dict[str, dict[str, Any]] = {}
    for kid, ci, expires_at in rows:
        batch = batches.setdefault(
            kid,
            {
                "country": keys.COUNTRY,
                "expires": _aware(expires_at).isoformat(),
                "kid": _b64(bytes.fromhex(kid)),
                "hashType": "UCI",
                "entries": [],
            },
        )
        batch["expires"] = max(batch["expires"], _aware(expires_at).isoformat())
        batch["entries"].append({"hash": uvci_hash(ci)})
    return {"batches": list(batches.values())}
