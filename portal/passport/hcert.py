"""The certificate as the EU DCC carries it (the eHealth Network's "Electronic Health
Certificate" specification, hcert 1.x): CWT claims in CBOR, signed as a COSE_Sign1 message
(ES256, the Document Signer Certificate's ``kid`` in the protected header), compressed with
zlib, written in Base45 behind ``HC1:``, shown as a QR code at error correction level Q.

CBOR is cbor2's, Base45 base45's, the QR segno's. The COSE_Sign1 structure (RFC 9052: a
four-element array, the signature over the "Signature1" Sig_structure) is assembled here
with cbor2 because the signature comes from a PKCS#11 token that never gives its key out,
which pycose's signing (a COSE key holding the private scalar) cannot use; pycose 1.1.0
(its last release, 2023) also fails to decode with cbor2 6, which decodes arrays inside
tags as tuples (the lock needs cbor2 6 for webauthn). The tests verify with pycose anyway,
through the array it cannot decode itself (tests/passport).
"""

from __future__ import annotations

import enum
import hashlib
import io
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import base45
import cbor2
import segno
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from portal.passport import valuesets

PREFIX = "HC1:"
COSE_SIGN1_TAG = 18
CWT_TAG = 61
ALG = 1  # COSE header parameters
KID = 4
ES256 = -7
PS256 = -37  # RSASSA-PSS: some countries' DSCs (read, never made here)
ISSUER = 1  # CWT claim keys
EXPIRES = 4
ISSUED = 6
HCERT = -260
EU_DCC_V1 = 1
COUNTRY = "VN"
VALIDITY_MONTHS = 12  # Decision 5772/QĐ-BYT: the QR expires 12 months after it was made


class Signer(Protocol):
    """A Document Signer's key: ``sign`` returns the raw ES256 signature (r || s, 64
    bytes) over ``data``."""

    kid: bytes

    def sign(self, data: bytes) -> bytes: ...


def kid_of(certificate: x509.Certificate) -> bytes:
    """The first 8 bytes of the SHA-256 of the certificate's DER (hcert spec, 3.3.1)."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).digest()[:8]


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later; the month's last day when it is shorter
    (29/02/2028 + 12 months is 28/02/2029)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def expiry(issued_at: datetime) -> datetime:
    return add_months(issued_at, VALIDITY_MONTHS)


def _timestamp(moment: datetime) -> int:
    """Seconds since the epoch; a naive time is UTC, as the portal stores times."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp())


def sign(payload: dict[str, Any], signer: Signer, issued_at: datetime) -> bytes:
    """The COSE_Sign1 message (tagged) of a payload."""
    claims = cbor2.dumps(
        {
            ISSUER: COUNTRY,
            ISSUED: _timestamp(issued_at),
            EXPIRES: _timestamp(expiry(issued_at)),
            HCERT: {EU_DCC_V1: payload},
        }
    )
    protected = cbor2.dumps({ALG: ES256, KID: signer.kid})
    signature = signer.sign(cbor2.dumps(["Signature1", protected, b"", claims]))
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, claims, signature]))


def to_text(message: bytes) -> str:
    return PREFIX + base45.b45encode(zlib.compress(message, 9)).decode("ascii")


def issue(payload: dict[str, Any], signer: Signer, issued_at: datetime) -> str:
    """The ``HC1:`` text of a payload."""
    return to_text(sign(payload, signer, issued_at))


def qr_png(text: str, scale: int = 4) -> bytes:
    """The QR code of an ``HC1:`` text, error correction level Q as the specification
    asks (alphanumeric mode: Base45's alphabet is the QR's)."""
    out = io.BytesIO()
    segno.make(text, error="q", micro=False, boost_error=False).save(
        out, kind="png", scale=scale, border=4
    )
    return out.getvalue()


# Decoding and verifying ---------------------------------------------------------------


class Verdict(enum.StrEnum):
    """The outcome of reading an ``HC1:`` text (labels.VERDICT_LABELS)."""

    VALID = "valid"
    NOT_DCC = "not_dcc"  # not an HC1: text, or not Base45 / zlib / CBOR / COSE_Sign1
    UNKNOWN_KEY = "unknown_key"  # no certificate of the trust list has its kid
    BAD_SIGNATURE = "bad_signature"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    INVALID_PAYLOAD = "invalid_payload"  # the schema refuses the payload


@dataclass
class Reading:
    verdict: Verdict
    payload: dict[str, Any] | None = None
    kid: bytes | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    issuer_country: str | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.verdict == Verdict.VALID

    @property
    def uvci(self) -> str | None:
        try:
            return str(self.payload["v"][0]["ci"]) if self.payload else None
        except (KeyError, IndexError, TypeError):
            return None


class _NotDCC(Exception):
    pass


def _unwrap(text: str) -> tuple[bytes, dict[int, Any], Any, bytes, bytes]:
    """(protected header bytes, protected header, unprotected header, claims bytes,
    signature) of an HC1: text."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise _NotDCC("no HC1: prefix")
    try:
        compressed = base45.b45decode(text[len(PREFIX) :])
        # A zlib stream starts with 0x78; the specification lets a signer skip the step.
        message = zlib.decompress(compressed) if compressed[:1] == b"\x78" else compressed
        decoded = cbor2.loads(message)
    except (ValueError, zlib.error, cbor2.CBORDecodeError) as error:
        raise _NotDCC(str(error)) from error
    if isinstance(decoded, cbor2.CBORTag) and decoded.tag == CWT_TAG:
        decoded = decoded.value  # a CWT tag around the COSE message: allowed, unusual
    if isinstance(decoded, cbor2.CBORTag):
        if decoded.tag != COSE_SIGN1_TAG:
            raise _NotDCC(f"CBOR tag {decoded.tag}")
        decoded = decoded.value
    if not isinstance(decoded, list | tuple) or len(decoded) != 4:
        raise _NotDCC("not a COSE_Sign1 array")
    protected_bytes, unprotected, claims, signature = decoded
    if not all(isinstance(x, bytes) for x in (protected_bytes, claims, signature)):
        raise _NotDCC("not a COSE_Sign1 array")
    try:
        protected = cbor2.loads(protected_bytes) if protected_bytes else {}
    except (ValueError, cbor2.CBORDecodeError) as error:
        raise _NotDCC(str(error)) from error
    if not hasattr(protected, "get") or not hasattr(unprotected, "get"):
        raise _NotDCC("COSE headers are not maps")
    return protected_bytes, protected, unprotected, claims, signature


def _verify_signature(
    certificate: x509.Certificate, alg: Any, to_be_signed: bytes, signature: bytes
) -> bool:
    key = certificate.public_key()
    if alg == ES256 and isinstance(key, ec.EllipticCurvePublicKey) and len(signature) == 64:
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            key.verify(der, to_be_signed, ec.ECDSA(hashes.SHA256()))
            return True
        except InvalidSignature:
            return False
    if alg == PS256 and isinstance(key, rsa.RSAPublicKey):
        try:
            key.verify(
                signature,
                to_be_signed,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                hashes.SHA256(),
            )
            return True
        except InvalidSignature:
            return False
    return False


def read(
    text: str,
    trust_list: dict[bytes, x509.Certificate],
    now: datetime,
    revoked: frozenset[str] | set[str] = frozenset(),
) -> Reading:
    """Decode an ``HC1:`` text and check it: the signature against the certificate of its
    ``kid`` in ``trust_list``, the claims' validity at ``now``, the UVCI against
    ``revoked``, the payload against the published schema. Never raises on bad input."""
    try:
        protected_bytes, protected, unprotected, claims_bytes, signature = _unwrap(text)
    except _NotDCC as error:
        return Reading(Verdict.NOT_DCC, errors=[str(error)])
    kid = protected.get(KID, unprotected.get(KID))
    alg = protected.get(ALG, unprotected.get(ALG))
    reading = Reading(Verdict.NOT_DCC, kid=kid if isinstance(kid, bytes) else None)
    try:
        claims = cbor2.loads(claims_bytes)
        payload = claims[HCERT][EU_DCC_V1]
        issued = datetime.fromtimestamp(int(claims[ISSUED]), UTC)
        expires = datetime.fromtimestamp(int(claims[EXPIRES]), UTC)
    except (ValueError, KeyError, TypeError, OverflowError, cbor2.CBORDecodeError) as error:
        reading.errors.append(str(error))
        return reading
    if not hasattr(payload, "items"):
        reading.errors.append("the certificate is not a CBOR map")
        return reading
    reading.payload = _thawed(payload)
    reading.issued_at, reading.expires_at = issued, expires
    reading.issuer_country = claims.get(ISSUER)
    certificate = trust_list.get(reading.kid) if reading.kid else None
    if certificate is None:
        reading.verdict = Verdict.UNKNOWN_KEY
        return reading
    to_be_signed = cbor2.dumps(["Signature1", protected_bytes, b"", claims_bytes])
    if not _verify_signature(certificate, alg, to_be_signed, signature):
        reading.verdict = Verdict.BAD_SIGNATURE
        return reading
    moment = now if now.tzinfo else now.replace(tzinfo=UTC)
    if moment < issued:
        reading.verdict = Verdict.NOT_YET_VALID
    elif moment > expires:  # valid through its exp second, as the EU test data reads it
        reading.verdict = Verdict.EXPIRED
    elif reading.uvci in revoked:
        reading.verdict = Verdict.REVOKED
    elif errors := valuesets.schema_errors(reading.payload):
        reading.verdict, reading.errors = Verdict.INVALID_PAYLOAD, errors
    else:
        reading.verdict = Verdict.VALID
    return reading


def _thawed(value: Any) -> Any:
    """cbor2 6 decodes some maps and arrays as frozendict and tuple: plain JSON values."""
    if hasattr(value, "items"):
        return {k: _thawed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_thawed(v) for v in value]
    return value
