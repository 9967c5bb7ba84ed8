"""An offline PKI for the signing tests: a CA, an in-process RFC 3161 TSA, signers' PKCS#12."""

from __future__ import annotations

import base64
from datetime import date
from io import BytesIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from portal.auth.models import Role
from portal.extensions import db
from portal.signing import demo_pki, pki, services
from tests.conftest import OWN, csrf_token

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
def csc_chair(app, with_demo_services, make_user):
    """A committee chair who signs at the demo CSC provider: a demo certificate whose key the
    provider holds, linked to the account (credentials/info), signing method csc."""
    from portal.core.accounts import SigningMethod
    from portal.signing import demo

    user = make_user(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    credential_id, _cert = demo.add_csc_signer(
        user.display_name, "Chủ tịch", "UBND Phường Ba Đình", owner=user.username
    )
    services.add_csc_credential(
        user, with_demo_services.url, credential_id, "Chủ tịch", "UBND Phường Ba Đình"
    )
    services.set_signing_method(user, SigningMethod.CSC)
    db.session.commit()
    return user


class JunkProvider:
    """A CSC provider that misbehaves, on a free loopback port (real HTTP): ``mode`` is
    "garbage" (not JSON), "forged" (a well-formed answer with a signature that is not the
    credential's), or "slow" (answers after ``delay`` seconds)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        provider = self
        self.mode = "garbage"
        self.delay = 3.0
        self.calls: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                import base64
                import json
                import os
                import time

                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider.calls.append(self.path)
                if provider.mode == "slow":
                    time.sleep(provider.delay)
                if provider.mode == "garbage":
                    body, kind = b"<html>Service Unavailable</html>", "text/html"
                elif self.path.endswith("credentials/authorize"):
                    body, kind = json.dumps({"SAD": "sad"}).encode(), "application/json"
                else:
                    forged = base64.b64encode(os.urandom(70)).decode()
                    body = json.dumps({"signatures": [forged]}).encode()
                    kind = "application/json"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client gave up waiting (the slow mode)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def junk_provider():
    provider = JunkProvider()
    yield provider
    provider.close()


@pytest.fixture
def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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


@pytest.fixture(scope="session")
def demo_pki_folder(tmp_path_factory):
    """A demo PKI (certomancer) made once for the session, no services running: browser keys
    are certified by its signers' CA (demo.issue_certificate)."""
    folder = tmp_path_factory.mktemp("demo-pki")
    demo_pki.ensure(folder)
    return folder


@pytest.fixture
def enrolment_ca(app, signing_config, demo_pki_folder):
    """The demo PKI as ``flask demo`` leaves it, as the signing key page's CA; its root is
    trusted, its TSA time-stamps in-process."""
    app.config["SIGNING_DEMO_PKI_DIR"] = str(demo_pki_folder)  # signing_config restores it
    services.VERDICTS.clear()
    return demo_pki_folder


class BrowserKey:
    """The test's stand-in for a browser's WebCrypto key: a real P-256 key made here, which
    signs as WebCrypto does (ECDSA with SHA-256 over the data, raw r||s)."""

    def __init__(self, key=None):
        self.key = key or ec.generate_private_key(ec.SECP256R1())

    def csr(self, name: str = "Trình duyệt") -> bytes:
        request = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .sign(self.key, hashes.SHA256())
        )
        return request.public_bytes(serialization.Encoding.DER)

    def sign(self, to_be_signed_b64: str) -> str:
        der = self.key.sign(base64.b64decode(to_be_signed_b64), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


def enrol_browser_key(client, key: BrowserKey):
    """POST the key's certificate request as static/js/portal-signer.js does."""
    return client.post(
        "/signing/browser-key",
        data={
            "csrf_token": csrf_token(client, "/verify"),
            "csr": base64.b64encode(key.csr()).decode(),
        },
    )


def browser_prepare(client, batch_id: int):
    return client.post(
        f"/signing/batches/{batch_id}/browser-prepare",
        data={"csrf_token": csrf_token(client, "/verify")},
    )


def browser_finish(client, url: str, signature: str, document_sha256: str, headers=None):
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(client, "/verify"),
            "signature": signature,
            "document_sha256": document_sha256,
        },
        headers=headers or {},
    )
