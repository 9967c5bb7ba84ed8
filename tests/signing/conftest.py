"""An offline PKI for the signing tests: a CA, an in-process RFC 3161 TSA, signers' PKCS#12."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest

from portal.auth.models import Role
from portal.extensions import db
from portal.signing import pki, services
from tests.conftest import OWN

PIN = "246810"


def scan_image(fmt: str = "JPEG") -> bytes:
    """A small real scan: an uploaded scan must decode as an image (issue 14, item 15)."""
    from PIL import Image

    buffer = BytesIO()
    Image.new("L", (60, 80), 255).save(buffer, format=fmt)
    return buffer.getvalue()


def scan_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    buffer = BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(100, 700, "Biên bản đã ký")
    pdf.save()
    return buffer.getvalue()


@pytest.fixture(scope="session")
def ca():
    return pki.make_ca("Test CA – Cổng đối soát")


@pytest.fixture(scope="session")
def pki_dir(ca, tmp_path_factory):
    """Laid out like the demo's instance/demo-pki: the CA is trusted, the TSA runs in-process."""
    folder = tmp_path_factory.mktemp("pki")
    tsa = pki.issue(ca, "Test TSA", tsa=True)
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "tsa.pem").write_bytes(tsa.cert_pem())
    (folder / "tsa-key.pem").write_bytes(tsa.key_pem())
    return folder


@pytest.fixture(autouse=True)
def signing_config(app, pki_dir, tmp_path):
    saved = {
        k: app.config.get(k)
        for k in ("DOCUMENTS_DIR", "SIGNING_DEMO_PKI_DIR", "SIGNING_TSA_URL", "SIGNING_LEVEL")
    }
    app.config.update(
        DOCUMENTS_DIR=str(tmp_path / "documents"),
        SIGNING_DEMO_PKI_DIR=str(pki_dir),
        SIGNING_TSA_URL=None,
        SIGNING_LEVEL="B-T",
    )
    services.VERDICTS.clear()  # verdicts cached in the process, keyed by bytes and state
    yield tmp_path / "documents"
    app.config.update(saved)


@pytest.fixture
def give_certificate(ca):
    """Issue a certificate to the user and store it as their PKCS#12 credential."""

    def give(user, title="Chủ tịch", unit=None, pin=PIN, **kw):
        issued = pki.issue(ca, user.display_name, title=title, unit=unit or user.area.name, **kw)
        credential = services.add_pkcs12_credential(
            user, pki.to_pkcs12(issued, ca, pin), pin, title, unit or user.area.name
        )
        db.session.commit()
        return credential

    return give


@pytest.fixture
def chair(make_user, give_certificate):
    user = make_user(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    give_certificate(user)
    return user


@pytest.fixture
def awaiting(make_person):
    """Two persons of OWN awaiting the committee's signature, one not yet verified."""
    return [
        make_person(
            full_name="Nguyễn Thị Hương",
            sex="female",
            status="matched",
            id_number="001190000001",
            birth_date=date(1990, 2, 3),
        ),
        make_person(full_name="Đặng Văn Lộc", status="verified", id_number="001090000002"),
        make_person(full_name="Phạm Văn Em", status="mismatch", id_number="001090000004"),
    ]


def open_dialog(client, headers=None, **filters) -> int:
    """Open the sign dialog as the "Sign…" button does (the page's filter: status, q, day);
    the id of the list it stores."""
    import re

    from tests.conftest import csrf_token

    response = client.post(
        "/signing/batches",
        data={"csrf_token": csrf_token(client, "/verify"), **filters},
        headers=headers or {},
    )
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:500]
    if response.status_code == 303:
        return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    found = re.search(r'data-batch="(\d+)"', response.get_data(as_text=True))
    assert found is not None
    return int(found.group(1))


def sign_dialog(client, batch_id: int, pin: str = PIN, headers=None):
    """Type the PIN into the dialog of ``batch_id`` and sign."""
    from tests.conftest import csrf_token

    return client.post(
        f"/signing/batches/{batch_id}/sign",
        data={"csrf_token": csrf_token(client, "/verify"), "pin": pin},
        headers=headers or {},
    )


def sign_in_browser(client, pin: str = PIN, headers=None, **filters):
    """Open the dialog under ``filters``, then sign it."""
    return sign_dialog(client, open_dialog(client, **filters), pin, headers)


@pytest.fixture
def with_demo_services(app, signing_config, demo_services):
    """The demo PKI of the running demo services instead of the offline test CA: its
    certificates carry their OCSP and CRL addresses, and pyHanko may fetch from them."""
    saved = {
        k: app.config.get(k)
        for k in ("SIGNING_DEMO_PKI_DIR", "SIGNING_DEMO_SERVICES_URL", "SIGNING_REVOCATION_FETCH")
    }
    app.config.update(
        SIGNING_DEMO_PKI_DIR=str(demo_services.folder),
        SIGNING_DEMO_SERVICES_URL=demo_services.url,
        SIGNING_REVOCATION_FETCH=True,
    )
    services.VERDICTS.clear()
    yield demo_services
    services.VERDICTS.clear()
    app.config.update(saved)


@pytest.fixture
def give_demo_certificate(with_demo_services):
    """Issue a certificate from the demo PKI of the running demo services (known to its
    OCSP responder and CRLs) and store it as the user's demo PKCS#12 credential."""
    from portal.signing import demo_pki

    folder = with_demo_services.folder

    def give(user, title="Chủ tịch", unit=None, pin=PIN):
        unit = unit or user.area.name
        entry, cert = demo_pki.add_signer(
            folder, user.display_name, title=title, unit=unit, owner=user.username
        )
        issued = pki.Issued(demo_pki.private_key(folder, entry), cert)
        credential = services.add_pkcs12_credential(
            user, pki.to_pkcs12(issued, demo_pki.chain(folder), pin), pin, title, unit, demo=True
        )
        db.session.commit()
        return credential

    return give
