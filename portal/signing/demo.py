"""The demo's signing setup: a demo certificate authority, a local TSA, and a certificate for
every user who signs (committee chairs, vaccination sites, police), each kept as a PKCS#12
whose PIN is the demo PIN (not the demo password: issue 14, item 12). The interface marks
these certificates as demo ones."""

from __future__ import annotations

import sqlalchemy as sa
from cryptography import x509

from portal.auth.models import Role, User
from portal.auth.passwords import normalise_password
from portal.core.files import private_dir, write_private
from portal.extensions import db
from portal.signing import pki, services

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


def ensure_pki() -> tuple[pki.Issued, bool]:
    """The demo CA and TSA in the instance folder (SIGNING_DEMO_PKI_DIR), and the demo
    organisation's certificate (it signs the audit trail's checkpoints); made once."""
    folder = services.demo_pki_dir()
    ca_cert, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    created = not (ca_cert.is_file() and ca_key.is_file())
    if created:
        private_dir(folder)
        ca = pki.make_ca()
        tsa = pki.issue(ca, "Demo TSA – Cổng đối soát (KHÔNG DÙNG THẬT)", tsa=True)
        for name, data in (
            ("ca-key.pem", ca.key_pem()),
            ("tsa-key.pem", tsa.key_pem()),
            ("ca.pem", ca.cert_pem()),
            ("tsa.pem", tsa.cert_pem()),
        ):
            write_private(folder / name, data)
    else:
        ca = pki.Issued(
            pki.load_pem_key(ca_key.read_bytes()), pki.load_pem_cert(ca_cert.read_bytes())
        )
    cert_name, key_name = services.DEMO_ORGANISATION
    if not (folder / cert_name).is_file():  # a demo PKI made before the checkpoints
        organisation = pki.issue(
            ca, "Demo – Cổng đối soát (KHÔNG DÙNG THẬT)", unit="Nhật ký kiểm toán"
        )
        write_private(folder / key_name, organisation.key_pem())
        write_private(folder / cert_name, organisation.cert_pem())
    return ca, created


def issue_certificate(
    public_key: pki.PublicKey, common_name: str, title: str, unit: str
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The demo CA's certificate for a key made elsewhere (a browser's enrolment), and the
    CA chain above it (issuer first). The one door to the CA for an enrolment: whatever runs
    the demo PKI keeps this signature."""
    ca, _created = ensure_pki()
    return pki.certify(ca, public_key, common_name, title=title, unit=unit), [ca.cert]


def seed(pin: str) -> int:
    """Certificates for the signing users that have none; returns how many were issued."""
    ca, _created = ensure_pki()
    key_pin = normalise_password(pin)  # as it is checked (services.unlock)
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
        certificate = pki.issue(ca, user.display_name, title=title, unit=unit)
        services.add_pkcs12_credential(
            user, pki.to_pkcs12(certificate, ca, key_pin), key_pin, title, unit, demo=True
        )
        issued += 1
    return issued
