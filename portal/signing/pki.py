"""A small certificate authority built with ``cryptography``: the demo's CA and TSA, and the
tests' and benchmark's offline PKI. Production certificates come from a licensed CA and are
imported as PKCS#12 files; nothing here is used for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portal.core import clock

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


@dataclass
class Issued:
    key: PrivateKey
    cert: x509.Certificate

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(
    common_name: str,
    organization: str | None = None,
    title: str | None = None,
    unit: str | None = None,
) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN")]
    if organization:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    if title:
        parts.append(x509.NameAttribute(NameOID.TITLE, title))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def new_key(kind: str = "ec") -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return ec.generate_private_key(ec.SECP256R1())


def make_ca(
    common_name: str = "Demo CA – Cổng đối soát (KHÔNG DÙNG THẬT)", years: int = 10
) -> Issued:
    key = new_key("ec")
    name = _name(common_name, "Cổng đối soát dữ liệu tiêm chủng (demo)")
    now = clock.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(key, cert)


def issue(
    ca: Issued,
    common_name: str,
    *,
    title: str | None = None,
    unit: str | None = None,
    key_kind: str = "ec",
    tsa: bool = False,
    signer: bool = True,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Issued:
    """A leaf certificate: a document signer (non-repudiation) or a time-stamping unit."""
    key = new_key("rsa" if tsa else key_kind)
    cert = certify(
        ca,
        key.public_key(),
        common_name,
        title=title,
        unit=unit,
        tsa=tsa,
        signer=signer,
        not_before=not_before,
        not_after=not_after,
    )
    return Issued(key, cert)


def certify(
    ca: Issued,
    public_key: PublicKey,
    common_name: str,
    *,
    title: str | None = None,
    unit: str | None = None,
    tsa: bool = False,
    signer: bool = True,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """A leaf certificate for a public key whose private key is elsewhere (a browser's)."""
    now = clock.now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, unit=unit, title=title))
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365 * 3))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
    )
    if tsa:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=signer and not tsa,
            key_encipherment=not signer and not tsa,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    return builder.sign(ca.key, hashes.SHA256())


def to_pkcs12(
    issued: Issued, ca: Issued | x509.Certificate | list[x509.Certificate], pin: str
) -> bytes:
    """The signer's key, certificate and CA (or its chain of CAs) in one PKCS#12, encrypted
    with the PIN (AES-256)."""
    if isinstance(ca, list):
        chain = ca
    else:
        chain = [ca.cert if isinstance(ca, Issued) else ca]
    return pkcs12.serialize_key_and_certificates(
        b"signer",
        issued.key,
        issued.cert,
        chain,
        serialization.BestAvailableEncryption(pin.encode()),
    )


def load_pem_cert(data: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(data)


def load_pem_key(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key
