"""The demo's signing setup: the demo PKI (certomancer: root CA, signers' CA, TSA, OCSP
responder, CRLs; portal.signing.demo_pki), and a certificate for every user who signs
(committee chairs, vaccination sites, police), each kept as a PKCS#12 whose PIN is the demo
PIN (not the demo password: issue 14, item 12). The interface marks these certificates as
demo ones."""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from flask import current_app

from portal.auth.models import Role, User
from portal.auth.passwords import normalise_password
from portal.core.accounts import SigningMethod
from portal.extensions import db
from portal.signing import demo_pki, demo_services, pki, services
from portal.signing.remote import LinkedCredential

TITLES = {
    Role.COMMITTEE: ("Chủ tịch", "UBND {area}"),
    Role.VACCINATION_SITE: ("Thủ trưởng cơ sở tiêm chủng", "{site}"),
    Role.POLICE: ("Cán bộ Công an", "Công an {area}"),
}


def signer_title(user: User) -> tuple[str, str]:
    """The title and unit a signer's demo certificate and stamp carry."""
    title, unit_format = TITLES.get(user.role, ("Cán bộ", "{area}"))
    return title, unit_format.format(
        area=user.area.name, site=user.site.name if user.site else user.area.name
    )


def demo_services_url() -> str:
    """Where the demo services listen (SIGNING_DEMO_SERVICES_URL): the CSC provider at this
    address (``/csc/v1/...``), the OCSP responder, CRLs and TSA under ``/pki``."""
    folder = services.demo_pki_dir()
    configured = current_app.config.get("SIGNING_DEMO_SERVICES_URL")
    return str(configured or demo_pki.services_url(folder) or demo_pki.DEFAULT_URL)


def ensure_pki() -> tuple[pki.Issued, bool]:
    """The demo PKI (certomancer, portal.signing.demo_pki) in the instance folder
    (SIGNING_DEMO_PKI_DIR): its root CA, signers' CA, TSA, OCSP responder and the demo
    organisation's certificate (it signs the audit trail's checkpoints); made once. Returns
    the signers' CA, which issues every demo signer's certificate, and whether it was made."""
    folder = services.demo_pki_dir()
    created = demo_pki.ensure(folder, current_app.config.get("SIGNING_DEMO_SERVICES_URL"))
    ca = pki.Issued(demo_pki.signers_ca_key(folder), demo_pki.chain(folder)[0])
    return ca, created


def issue_certificate(
    public_key: Any, common_name: str, title: str | None, unit: str | None
) -> x509.Certificate:
    """A demo certificate for a key the portal never holds (a browser's, from its CSR),
    issued by the demo signers' CA and known to its OCSP responder and CRLs."""
    ensure_pki()
    _entry, certificate = demo_pki.add_signer(
        services.demo_pki_dir(), common_name, title=title, unit=unit, public_key=public_key
    )
    return certificate


def add_csc_signer(
    common_name: str, title: str | None, unit: str | None, owner: str | None = None
) -> tuple[str, x509.Certificate]:
    """A demo certificate whose key the demo CSC provider holds: its credential ID there
    (``demo/<label>``) and the certificate. The key is made and written by this call (the
    seeding command), never read back by the portal."""
    ensure_pki()
    entry, certificate = demo_pki.add_signer(
        services.demo_pki_dir(), common_name, title=title, unit=unit, owner=owner
    )
    return entry.credential_id, certificate


def seed(pin: str) -> int:
    """Certificates for the signing users that have none; returns how many were issued.
    Where the demo services are configured (SIGNING_DEMO_SERVICES_URL, as `make demo` sets
    it) and their provider asks for this PIN, each key is held by the demo CSC provider and
    the account signs remotely (method csc); otherwise (a bare `flask demo`) the key is a
    PKCS#12 held here (method server, where SIGNING_ALLOW_SERVER_KEYS allows it)."""
    ensure_pki()
    folder = services.demo_pki_dir()
    key_pin = normalise_password(pin)  # as it is checked (services.unlock)
    remote_url = current_app.config.get("SIGNING_DEMO_SERVICES_URL")
    provider_pin = os.environ.get("DEMO_SIGNING_PIN", demo_services.DEMO_PIN)
    remote = bool(remote_url) and key_pin == provider_pin
    users = list(
        db.session.scalars(sa.select(User).where(User.role.in_(list(TITLES))).order_by(User.id))
    )
    issued = 0
    for user in users:
        if services.active_credential(user) is not None:
            continue
        if user.role == Role.VACCINATION_SITE and user.site is None:
            continue
        title, unit = signer_title(user)
        entry, cert = demo_pki.add_signer(
            folder, user.display_name, title=title, unit=unit, owner=user.username
        )
        if remote:
            # The provider may not be running yet (`make demo` seeds, then serves): the
            # chain is the one it will hand out, known here because the demo issued it.
            services.add_csc_credential(
                user,
                str(remote_url),
                entry.credential_id,
                title,
                unit,
                demo=True,
                linked=LinkedCredential(
                    [cert, *demo_pki.chain(folder)], "pin", demo_services.MULTISIGN
                ),
            )
            services.set_signing_method(user, SigningMethod.CSC)
        else:
            certificate = pki.Issued(demo_pki.private_key(folder, entry), cert)
            services.add_pkcs12_credential(
                user,
                pki.to_pkcs12(certificate, demo_pki.chain(folder), key_pin),
                key_pin,
                title,
                unit,
                demo=True,
            )
            if services.allow_server_keys():
                services.set_signing_method(user, SigningMethod.SERVER)
        issued += 1
    return issued
