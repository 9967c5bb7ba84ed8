"""The demo PKI on certomancer (KHÔNG DÙNG THẬT): a root CA, the signers' CA, a TSA, an OCSP
responder and CRLs, served on loopback by the demo services (portal.signing.demo_services).

The template (``certomancer.yml`` and ``keys/`` beside this file) is in the repository. The
instance folder (SIGNING_DEMO_PKI_DIR) holds what this module generates from it:

- ``signers.json``: the state, one entry per demo signer certificate (its label, serial,
  subject, validity, whether the key is public only, its revocation) and the services' URL;
- ``certomancer.yml``: the template plus one certificate per entry and the revocations,
  rewritten (atomically) after every change: the demo services reload it when its
  modification time changes, so the OCSP responder, the CRLs and the CSC provider know
  every certificate the portal hands out, and every revocation, at once;
- ``keys/``: the template's keys and each signer's key (a private key for a server-held
  PKCS#12 or a CSC credential, a public key only for a browser-enrolled one);
- PEM files the portal reads without certomancer: ``ca.pem`` (the root, the trust anchor),
  ``chain.pem`` (the signers' CA), ``tsa.pem``/``tsa-key.pem`` (the in-process TSA) and
  ``organisation.pem``/``organisation-key.pem`` (the audit checkpoints' signer).

No Flask here: the demo services import it in their own process.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from portal.core import clock
from portal.core.files import open_private, private_dir, write_private

TEMPLATE_DIR = Path(__file__).resolve().parent
TEMPLATE = TEMPLATE_DIR / "certomancer.yml"
ARCH = "demo"
SIGNERS_CA = "signers-ca"
OCSP_SERVICE = "signers"
CRL_REPO = "signers"
TSA_SERVICE = "tsa"
# The services' address when nothing else is said (SIGNING_DEMO_SERVICES_URL's default).
DEFAULT_URL = "http://127.0.0.1:9780"
PKI_PATH = "/pki"  # the animator's routes under the services' address; CSC at its root
CONFIG_FILE = "certomancer.yml"
STATE_FILE = "signers.json"
KEYS = "keys"
REASONS = ("unspecified", "key_compromise", "affiliation_changed", "superseded")
DEMO_MARK = "KHÔNG DÙNG THẬT — a demo key, never trust it.\n"


class UnknownCertificate(LookupError):
    """No demo signer certificate with that label or serial."""


@dataclass
class Entry:
    """One demo signer certificate."""

    label: str
    serial: int
    common_name: str
    title: str | None
    unit: str | None
    valid_from: str  # ISO 8601, UTC
    valid_to: str
    public_only: bool = False
    owner: str | None = None  # the portal username it was issued for, when known
    revoked_since: str | None = None
    reason: str | None = None

    @property
    def revoked_at(self) -> datetime | None:
        return _parse(self.revoked_since) if self.revoked_since else None

    @property
    def credential_id(self) -> str:
        """Its credential ID at the CSC provider (certomancer-csc-dummy's ``arch/label``)."""
        return f"{ARCH}/{self.label}"


# --- the state and the generated configuration ----------------------------------------------


def pki_url(base: str) -> str:
    return base.rstrip("/") + PKI_PATH


def tsa_url(base: str) -> str:
    return f"{pki_url(base)}/{ARCH}/tsa/{TSA_SERVICE}"


def ocsp_url(base: str) -> str:
    return f"{pki_url(base)}/{ARCH}/ocsp/{OCSP_SERVICE}"


def crl_url(base: str) -> str:
    return f"{pki_url(base)}/{ARCH}/crls/{CRL_REPO}/latest.crl"


def _read_state(folder: Path) -> dict[str, Any]:
    path = folder / STATE_FILE
    if not path.is_file():
        return {"url": None, "signers": []}
    return dict(json.loads(path.read_text("utf-8")))


def _write_atomic(path: Path, content: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    write_private(temporary, content)
    os.replace(temporary, path)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """One writer at a time (the portal's CLI, its web workers and the services)."""
    private_dir(folder)
    with open_private(folder / ".lock", "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def entries(folder: Path) -> list[Entry]:
    return [Entry(**item) for item in _read_state(folder)["signers"]]


def services_url(folder: Path) -> str | None:
    return _read_state(folder).get("url")


def _config_dict(url: str, signers: list[Entry], public: bool = False) -> dict[str, Any]:
    """The certomancer configuration: the template and the signers. ``public``: each
    signer's key as its public key only (what the portal needs to issue and read
    certificates; the services' file names the private keys, to sign with them)."""
    config = yaml.safe_load(TEMPLATE.read_text("utf-8"))
    config["external-url-prefix"] = pki_url(url)
    keys = config["keysets"]["demo"]["keys"]
    arch = config["pki-architectures"][ARCH]
    for entry in signers:
        public_only = entry.public_only or public
        key: dict[str, Any] = {"path": f"{entry.label}.{'pub' if public_only else 'key'}.pem"}
        if public_only:
            key["public-only"] = True
        keys[entry.label] = key
        entity: dict[str, Any] = {"common-name": entry.common_name}
        if entry.unit:
            entity["organizational-unit-name"] = entry.unit
        if entry.title:
            entity["title"] = entry.title
        arch["entities"][entry.label] = entity
        spec: dict[str, Any] = {
            "subject": entry.label,
            "subject-key": entry.label,
            "issuer": SIGNERS_CA,
            "serial": entry.serial,
            "validity": {"valid-from": entry.valid_from, "valid-to": entry.valid_to},
            "profiles": ["digsig-commitment"],
        }
        if entry.revoked_since:
            spec["revocation"] = {
                "revoked-since": entry.revoked_since,
                "reason": entry.reason or "unspecified",
            }
        arch["certs"][entry.label] = spec
    return dict(config)


def _write(folder: Path, url: str, signers: list[Entry]) -> None:
    state = {"url": url, "signers": [asdict(entry) for entry in signers]}
    _write_atomic(folder / STATE_FILE, json.dumps(state, ensure_ascii=False, indent=1).encode())
    config = _config_dict(url, signers)
    _write_atomic(
        folder / CONFIG_FILE,
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False).encode("utf-8"),
    )


def ensure(folder: Path, url: str | None = None, override: bool = False) -> bool:
    """The generated PKI in ``folder``, made from the template when absent, naming ``url``
    as the services' address (DEFAULT_URL without one). ``override``: the demo services,
    which know where they listen, set their address even on an existing PKI (the
    configuration is rewritten: the certificates then point there). True when made now."""
    with _locked(folder):
        state = _read_state(folder)
        made = not (folder / CONFIG_FILE).is_file()
        keys = private_dir(folder / KEYS)
        for source in sorted((TEMPLATE_DIR / KEYS).glob("*.key.pem")):
            if not (keys / source.name).is_file():
                write_private(keys / source.name, source.read_bytes())
        url = (url if override or made else None) or state.get("url") or url or DEFAULT_URL
        rewrite = made or state.get("url") != url
        if rewrite:
            _write(folder, url, entries(folder))
        _write_pems(folder, rewrite)
    return made


def _write_pems(folder: Path, rewrite: bool = False) -> None:
    """The PEM files the portal reads without certomancer (written when missing, or when
    the services' address in the certificates changed)."""
    wanted = {
        "ca.pem": "root",
        "chain.pem": SIGNERS_CA,
        "tsa.pem": "tsa",
        "organisation.pem": "organisation",
    }
    present = all((folder / name).is_file() for name in [*wanted, "tsa-key.pem"])
    if present and not rewrite:
        return
    arch = load(folder)
    for name, label in wanted.items():
        write_private(folder / name, _pem(arch.get_cert(_cert_label(label))))
    for name, label in (("tsa-key.pem", "tsa"), ("organisation-key.pem", "organisation")):
        shutil.copyfile(folder / KEYS / f"{label}.key.pem", folder / name)
        (folder / name).chmod(0o600)


def _cert_label(label: str) -> Any:
    from certomancer.registry import CertLabel  # noqa: PLC0415  (kept off the import path)

    return CertLabel(label)


def _pem(cert: Any) -> bytes:
    return x509.load_der_x509_certificate(cert.dump()).public_bytes(serialization.Encoding.PEM)


def load(folder: Path, lazy: bool = True) -> Any:
    """The PKI architecture (certomancer's ``PKIArchitecture``) as the portal sees it: the
    signers' public keys only (a CSC credential's private key never enters the portal's
    process by issuing or reading its certificate), a key file read when a certificate
    needs it."""
    from certomancer.registry import ArchLabel, CertomancerConfig  # noqa: PLC0415  (heavy)

    state = _read_state(folder)
    config = _config_dict(state.get("url") or DEFAULT_URL, entries(folder), public=True)
    return CertomancerConfig(config, key_search_dir=str(folder), lazy_load_keys=lazy).get_pki_arch(
        ArchLabel(ARCH)
    )


def certificate(folder: Path, label: str) -> x509.Certificate:
    return x509.load_der_x509_certificate(load(folder).get_cert(_cert_label(label)).dump())


def chain(folder: Path) -> list[x509.Certificate]:
    """The signers' CA then the root, as a PKCS#12 or a CSC provider hands them out."""
    return [
        x509.load_pem_x509_certificate((folder / "chain.pem").read_bytes()),
        x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes()),
    ]


def signers_ca_key(folder: Path) -> Any:
    return serialization.load_pem_private_key(
        (folder / KEYS / f"{SIGNERS_CA}.key.pem").read_bytes(), password=None
    )


# --- signers ------------------------------------------------------------------------------------


def add_signer(
    folder: Path,
    common_name: str,
    *,
    title: str | None = None,
    unit: str | None = None,
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey | None = None,
    owner: str | None = None,
    years: int = 3,
) -> tuple[Entry, x509.Certificate]:
    """A new demo signer certificate issued by the signers' CA, known from now on to the OCSP
    responder, the CRLs and the CSC provider. Without ``public_key`` a P-256 key is made and
    kept in the folder (a server-held or CSC credential: :func:`private_key` reads it);
    with one, only that public key is kept (a browser-enrolled key)."""
    ensure(folder)
    with _locked(folder):
        signers = entries(folder)
        url = _read_state(folder).get("url") or DEFAULT_URL
        label = f"signer-{len(signers) + 1}"
        now = clock.now()
        entry = Entry(
            label=label,
            serial=x509.random_serial_number(),
            common_name=common_name,
            title=title,
            unit=unit,
            valid_from=_iso(now - timedelta(days=1)),
            valid_to=_iso(now + timedelta(days=365 * years)),
            public_only=public_key is not None,
            owner=owner,
        )
        keys = folder / KEYS
        if public_key is None:
            key = ec.generate_private_key(ec.SECP256R1())
            data = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private(keys / f"{label}.key.pem", DEMO_MARK.encode() + data)
            public_key = key.public_key()
            del key
        data = public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        write_private(keys / f"{label}.pub.pem", data)
        signers.append(entry)
        _write(folder, url, signers)
    return entry, certificate(folder, label)


def private_key(folder: Path, entry: Entry) -> Any:
    """A server-held demo signer's key (the demo's PKCS#12 is made from it)."""
    return serialization.load_pem_private_key(
        (folder / KEYS / f"{entry.label}.key.pem").read_bytes(), password=None
    )


def find(folder: Path, *, label: str | None = None, serial: int | None = None) -> Entry:
    for entry in entries(folder):
        if entry.label == label or (serial is not None and entry.serial == serial):
            return entry
    raise UnknownCertificate(label or format(serial or 0, "x"))


def revoke(
    folder: Path,
    entry: Entry,
    reason: str = "key_compromise",
    when: datetime | None = None,
) -> Entry:
    """Revoke a demo signer certificate from ``when`` (now, rounded up to the second): the
    OCSP responder says so from then, the signers' CRL from its next issue (a minute at
    most)."""
    if reason not in REASONS:
        raise ValueError(f"unknown revocation reason {reason}")
    with _locked(folder):
        signers = entries(folder)
        url = _read_state(folder).get("url") or DEFAULT_URL
        for item in signers:
            if item.label == entry.label and item.revoked_since is None:
                item.revoked_since = _iso(_next_second(when or clock.now()))
                item.reason = reason
                entry = item
        _write(folder, url, signers)
    return entry


def _next_second(moment: datetime) -> datetime:
    """Certomancer keeps whole seconds: rounded up, a signature time-stamped earlier in the
    same second is still before the revocation (the revocation takes effect within one)."""
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + timedelta(seconds=1)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
