"""The issuer's keys, as a country issues EU DCCs: a Country Signing CA (CSCA) certifies
Document Signer Certificates (DSCs); a DSC's private key signs passports from inside a
PKCS#11 token (SoftHSM2 in the demo and the tests) and is never read out of it. The
CSCA's key signs only DSCs; in the demo it is a key file, kept offline in a real
deployment.

Key rollover: each new DSC gets a new key pair made inside the token (its own label); the
newest DSC valid at the moment signs; the older DSCs stay in the trust list until their
last passport has expired (a DSC is valid for longer than the 12 months of a passport it
signs on its last day of use).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from portal.passport import hcert

# The DCC's extended key usages (hcert spec, 5.1.1): a DSC that names any of them signs
# only those certificate types; a vaccination DSC names this one.
EKU_VACCINATION = ObjectIdentifier("1.3.6.1.4.1.1847.2021.1.2")
CSCA_YEARS = 10
DSC_DAYS = 2 * 365 + 1  # sign for one year, then verifiable for the passports' 12 months
COUNTRY = "VN"
ORGANISATION = "Ministry of Health of Viet Nam"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, COUNTRY),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


@dataclass(frozen=True)
class CountrySigningCA:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def make_csca(now: datetime, common_name: str = "CSCA Viet Nam (demo)") -> CountrySigningCA:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365 * CSCA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return CountrySigningCA(certificate, key)


def load_csca(certificate_pem: bytes, key_pem: bytes) -> CountrySigningCA:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("the CSCA key is not an EC key")
    return CountrySigningCA(x509.load_pem_x509_certificate(certificate_pem), key)


def make_dsc(
    csca: CountrySigningCA,
    public_key: ec.EllipticCurvePublicKey,
    now: datetime,
    common_name: str,
    days: int = DSC_DAYS,
) -> x509.Certificate:
    """A vaccination Document Signer Certificate for a key pair made elsewhere (in the
    token: only its public key comes out)."""
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(csca.certificate.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([EKU_VACCINATION]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(csca.key.public_key()), False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
        .sign(csca.key, hashes.SHA256())
    )


def issued_by(certificate: x509.Certificate, csca: x509.Certificate) -> bool:
    """The DSC's signature checks against the CSCA's key, and it is a vaccination DSC."""
    try:
        certificate.verify_directly_issued_by(csca)
    except (ValueError, TypeError, Exception):  # InvalidSignature and the mismatches
        return False
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True  # no DCC usage named: signs every type
    return EKU_VACCINATION in list(usages) or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in list(
        usages
    )


def _not_before(certificate: x509.Certificate) -> datetime:
    return certificate.not_valid_before_utc


def can_sign(certificate: x509.Certificate, now: datetime) -> bool:
    """Valid now, and still valid when a passport signed now expires: a passport never
    outlives its DSC."""
    return (
        certificate.not_valid_before_utc <= now
        and hcert.expiry(now) <= certificate.not_valid_after_utc
    )


def current(certificates: list[x509.Certificate], now: datetime) -> x509.Certificate | None:
    """The DSC that signs now: the newest of those that can (key rollover)."""
    able = [c for c in certificates if can_sign(c, now)]
    return max(able, key=_not_before) if able else None


def trusted(certificates: list[x509.Certificate], now: datetime) -> dict[bytes, x509.Certificate]:
    """The DSCs a verifier trusts now, by kid: every one not expired, old ones included,
    so that the passports they signed verify until they expire."""
    return {
        hcert.kid_of(c): c
        for c in certificates
        if c.not_valid_before_utc <= now < c.not_valid_after_utc
    }


@dataclass
class SoftwareSigner:
    """A key in memory: the benchmark's bare loop and tests that are not about the token."""

    key: ec.EllipticCurvePrivateKey
    kid: bytes

    def sign(self, data: bytes) -> bytes:
        r, s = decode_dss_signature(self.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def new_software_signer(
    csca: CountrySigningCA, now: datetime, common_name: str = "DSC Viet Nam (software)"
) -> tuple[SoftwareSigner, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = make_dsc(csca, key.public_key(), now, common_name)
    return SoftwareSigner(key, hcert.kid_of(certificate)), certificate
