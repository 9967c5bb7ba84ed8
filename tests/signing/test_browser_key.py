"""Issue 17: signing with a key the portal never sees. The browser's key is played by a real
P-256 key made in the test (tests/signing/conftest.py, ``BrowserKey``), which signs what the
portal hands it as WebCrypto does; the portal prepares the PDF, checks the signature
against the enrolled certificate, embeds it with its time-stamp and confirms the persons.
Every refusal is in Vietnamese, audited, and writes nothing else."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.accounts import SigningMethod
from portal.core.clock import today_in_vietnam, utcnow
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import Person, PersonStatus
from portal.signing import browser, core, services
from portal.signing.models import (
    BatchState,
    DocumentKind,
    PreparedSignature,
    SignedDocument,
    SignerBackend,
    SigningBatch,
    SigningCredential,
)
from portal.worklists import handover
from tests.conftest import OWN, csrf_token, login
from tests.signing.conftest import (
    PIN,
    BrowserKey,
    browser_finish,
    browser_prepare,
    enrol_browser_key,
    open_dialog,
    sign_dialog,
)

VI = {"Accept-Language": "vi"}


def _events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def _refusals() -> list[str]:
    return [e.changes["reason"][1] for e in _events("signing.refused")]


def _nothing_signed(batch_id: int) -> None:
    db.session.expire_all()
    assert db.session.get(SigningBatch, batch_id).state == BatchState.OPEN
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) == 0
    assert _events("document.sign") == []


@pytest.fixture
def chair(login_as, enrolment_ca, client):
    """A commune chair logged in, with a key enrolled in their (test) browser."""
    user = login_as(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    key = BrowserKey()
    response = enrol_browser_key(client, key)
    assert response.status_code == 200, response.get_data(as_text=True)
    user.browser_key = key
    return user


def _prepare(client, batch_id: int) -> dict:
    response = browser_prepare(client, batch_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_enrolment_keeps_only_the_certificate(chair):
    credential = services.active_credential(chair)
    assert credential.backend == SignerBackend.BROWSER
    assert credential.sealed_pkcs12 is None and credential.key_label is None
    cert = x509.load_pem_x509_certificates(credential.certificate_pem.encode())[0]
    # The certificate is the browser's key's, issued to the chair by the demo CA.
    assert cert.public_key().public_numbers() == chair.browser_key.key.public_key().public_numbers()
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Trần Văn Đức"
    assert "PRIVATE KEY" not in credential.certificate_pem
    event = _events("signing.credential_add")[-1]
    assert event.changes["backend"][1] == "browser" and event.changes["key"][1] == "P-256"


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_prepare_sign_finish_confirms_and_validates(client, chair, awaiting, tmp_path):
    batch_id = open_dialog(client)
    prepared = _prepare(client, batch_id)
    assert len(bytes.fromhex(prepared["digest"])) == 32
    signature = chair.browser_key.sign(prepared["to_be_signed"])
    response = browser_finish(
        client, prepared["finish_url"], signature, prepared["document_sha256"]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["redirect"].endswith(f"/signing/batches/{batch_id}")

    document = db.session.get(SignedDocument, answer["document_id"])
    content = services.stored_content(document)
    verdict = core.validate(content, services.trust_roots())
    assert verdict.ok, verdict
    [report] = verdict.signatures
    assert report.intact and report.valid and report.trusted and report.timestamp_ok
    assert report.serial == services.active_credential(chair).serial
    path = tmp_path / "signed.pdf"
    path.write_bytes(content)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in pdfsig and "ETSI.CAdES.detached" in pdfsig

    confirmed = {p.full_name for p in awaiting[:2]}
    statuses = {p.full_name: p.status for p in db.session.scalars(sa.select(Person))}
    assert {n for n, s in statuses.items() if s == PersonStatus.CONFIRMED} == confirmed
    [event] = _events("document.sign")
    assert event.changes["method"][1] == "browser"
    assert event.changes["certificate_serial"][1] == document.certificate_serial
    assert event.changes["sha256"][1] == document.sha256
    assert db.session.get(SigningBatch, batch_id).state == BatchState.SIGNED
    page = client.get(answer["redirect"])
    assert 'data-testid="signed"' in page.get_data(as_text=True)


def test_a_replay_is_refused(client, chair, awaiting):
    batch_id = open_dialog(client)
    prepared = _prepare(client, batch_id)
    signature = chair.browser_key.sign(prepared["to_be_signed"])
    first = browser_finish(client, prepared["finish_url"], signature, prepared["document_sha256"])
    assert first.status_code == 200
    again = browser_finish(
        client, prepared["finish_url"], signature, prepared["document_sha256"], headers=VI
    )
    assert again.status_code == 422
    assert "đã được dùng" in again.get_json()["error"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) == 1
    assert _refusals()[-1] == "prepared_replayed"


def test_an_expired_preparation_is_refused(client, chair, awaiting):
    batch_id = open_dialog(client)
    prepared = _prepare(client, batch_id)
    db.session.execute(
        sa.update(PreparedSignature).values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    signature = chair.browser_key.sign(prepared["to_be_signed"])
    response = browser_finish(
        client, prepared["finish_url"], signature, prepared["document_sha256"], headers=VI
    )
    assert response.status_code == 422
    assert "hết hạn" in response.get_json()["error"]
    _nothing_signed(batch_id)
    assert db.session.scalar(sa.select(PreparedSignature.finished_at)) is None
    assert _refusals() == ["prepared_expired"]


def test_another_users_preparation_is_refused(client, chair, awaiting, make_user):
    batch_id = open_dialog(client)
    prepared = _prepare(client, batch_id)
    signature = chair.browser_key.sign(prepared["to_be_signed"])
    other = make_user(Role.COMMITTEE, OWN, display_name="Lê Văn Khác")
    other_client = client.application.test_client()
    assert login(other_client, other.username).status_code == 303
    response = browser_finish(
        other_client, prepared["finish_url"], signature, prepared["document_sha256"]
    )
    assert response.status_code == 422
    _nothing_signed(batch_id)
    assert _refusals() == ["prepared_unknown"]


def test_a_signature_for_another_document_is_refused(client, chair, awaiting):
    batch_id = open_dialog(client)
    first = _prepare(client, batch_id)
    second = _prepare(client, batch_id)
    assert first["document_sha256"] != second["document_sha256"]
    signature = chair.browser_key.sign(first["to_be_signed"])
    # The first document's hash with the second's token: another document.
    response = browser_finish(client, second["finish_url"], signature, first["document_sha256"])
    assert response.status_code == 422
    # The first document's signature on the second: it does not verify.
    response = browser_finish(client, second["finish_url"], signature, second["document_sha256"])
    assert response.status_code == 422
    _nothing_signed(batch_id)
    assert _refusals() == ["other_document", "bad_signature"]
    # The first is still good, once.
    done = browser_finish(client, first["finish_url"], signature, first["document_sha256"])
    assert done.status_code == 200


def test_a_signature_by_another_key_is_refused(client, chair, awaiting):
    batch_id = open_dialog(client)
    prepared = _prepare(client, batch_id)
    for signature in (
        BrowserKey().sign(prepared["to_be_signed"]),  # another browser's key
        base64.b64encode(b"\x00" * 64).decode(),
        "bm90IGEgc2lnbmF0dXJl",
    ):
        response = browser_finish(
            client, prepared["finish_url"], signature, prepared["document_sha256"], headers=VI
        )
        assert response.status_code == 422
        assert "không khớp" in response.get_json()["error"]
    _nothing_signed(batch_id)
    assert _refusals() == ["bad_signature"] * 3


def test_a_list_changed_after_preparing_is_refused(client, chair, awaiting):
    batch_id = open_dialog(client)
    prepared = _prepare(client, batch_id)
    db.session.execute(
        sa.update(Person)
        .where(Person.id == awaiting[0].id)
        .values(status=PersonStatus.MISMATCH, version=Person.version + 1)
    )
    db.session.commit()
    signature = chair.browser_key.sign(prepared["to_be_signed"])
    response = browser_finish(
        client, prepared["finish_url"], signature, prepared["document_sha256"]
    )
    assert response.status_code == 422
    _nothing_signed(batch_id)
    assert db.session.scalar(sa.select(PreparedSignature.finished_at)) is None
    assert _refusals() == ["list_changed"]


def _csr(key, name: str = "Trình duyệt") -> bytes:
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.DER)


def _tampered() -> bytes:
    data = _csr(ec.generate_private_key(ec.SECP256R1()), "Tampered")
    return data.replace(b"Tampered", b"Tampere!")


@pytest.mark.parametrize(
    "make_csr, reason",
    [
        (lambda: _csr(ec.generate_private_key(ec.SECP384R1())), "bad_csr_key"),
        (lambda: _csr(rsa.generate_private_key(65537, 1024)), "bad_csr_key"),
        (lambda: b"\x30\x03\x02\x01\x00", "bad_csr"),
        (lambda: b"x" * 9000, "bad_csr"),
        (_tampered, "bad_csr_signature"),
    ],
)
def test_a_bad_certificate_request_is_refused(client, login_as, enrolment_ca, make_csr, reason):
    user = login_as(Role.COMMITTEE, OWN)
    response = client.post(
        "/signing/browser-key",
        data={
            "csrf_token": _token(client),
            "csr": base64.b64encode(make_csr()).decode(),
        },
        headers=VI,
    )
    assert response.status_code == 422
    message = response.get_json()["error"]
    assert message and message.isascii() is False  # Vietnamese
    assert services.active_credential(user) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SigningCredential)) == 0
    assert _refusals() == [reason]


def test_a_token_plugins_rsa_key_signs(client, login_as, enrolment_ca, awaiting):
    """The contract a USB token's plugin fulfils: an RSA 2048 key enrolled, its PKCS#1 v1.5
    signature of the signed attributes taken as it is."""
    user = login_as(Role.COMMITTEE, OWN)
    key = rsa.generate_private_key(65537, 2048)
    response = client.post(
        "/signing/browser-key",
        data={"csrf_token": _token(client), "csr": base64.b64encode(_csr(key)).decode()},
    )
    assert response.status_code == 200
    assert services.active_credential(user).backend == SignerBackend.BROWSER
    assert browser.key_description(key.public_key()) == "RSA-2048"
    prepared = _prepare(client, open_dialog(client))
    signature = key.sign(
        base64.b64decode(prepared["to_be_signed"]), padding.PKCS1v15(), hashes.SHA256()
    )
    done = browser_finish(
        client,
        prepared["finish_url"],
        base64.b64encode(signature).decode(),
        prepared["document_sha256"],
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    document = db.session.get(SignedDocument, done.get_json()["document_id"])
    assert core.validate(services.stored_content(document), services.trust_roots()).ok


def test_a_der_ecdsa_signature_is_taken_too(client, chair, awaiting):
    """A plugin may answer ECDSA in DER rather than WebCrypto's r||s."""
    prepared = _prepare(client, open_dialog(client))
    der = chair.browser_key.key.sign(
        base64.b64decode(prepared["to_be_signed"]), ec.ECDSA(hashes.SHA256())
    )
    done = browser_finish(
        client, prepared["finish_url"], base64.b64encode(der).decode(), prepared["document_sha256"]
    )
    assert done.status_code == 200, done.get_data(as_text=True)


def test_the_pin_form_does_not_unlock_a_browser_key(client, chair, awaiting):
    batch_id = open_dialog(client)
    response = sign_dialog(client, batch_id, PIN, headers=VI)
    assert response.status_code == 422
    assert "trình duyệt" in response.get_data(as_text=True)
    _nothing_signed(batch_id)
    assert services.active_credential(chair).failed_pins == 0


def test_the_dialog_offers_the_browser_key(client, chair, awaiting):
    batch_id = open_dialog(client)
    page = client.get(f"/signing/batches/{batch_id}").get_data(as_text=True)
    assert "data-browser-sign" in page and f"/signing/batches/{batch_id}/browser-prepare" in page
    assert 'name="pin"' not in page.split('id="sign-dialog"')[1].split("</dialog>")[0]
    assert "js/portal-signer.js" in page
    assert client.get("/signing/browser-key").status_code == 200


def test_only_signers_with_the_browser_method_enrol(client, login_as, enrolment_ca):
    user = login_as(Role.COMMITTEE, OWN)
    user.signing_method = SigningMethod.CSC
    db.session.commit()
    assert client.get("/signing/browser-key").status_code == 403
    assert enrol_browser_key(client, BrowserKey()).status_code == 403
    user.signing_method = SigningMethod.BROWSER
    db.session.commit()
    assert client.get("/signing/browser-key").status_code == 200


def _token(client) -> str:
    return csrf_token(client, "/verify")


def test_police_sign_a_handover_list_with_the_browser_key(
    client, login_as, enrolment_ca, make_person
):
    """The handover list's frozen PDF, signed by the officer's browser key: the signed file
    begins with the frozen bytes, validates, and is offered once."""
    police = login_as(Role.POLICE, OWN, display_name="Lê Văn Công")
    key = BrowserKey()
    assert enrol_browser_key(client, key).status_code == 200
    person = make_person(full_name="Trịnh Văn Bảo", status="verified", id_number="001090000021")
    worklist = handover.create_handover(police, [person.id], None)
    handover.hand_over(worklist, police)
    db.session.commit()
    frozen = handover.stored_document(worklist)
    page = client.get(f"/signing/handover/{worklist.id}").get_data(as_text=True)
    assert f"/signing/handover/{worklist.id}/browser-prepare" in page and 'name="pin"' not in page

    response = client.post(
        f"/signing/handover/{worklist.id}/browser-prepare", data={"csrf_token": _token(client)}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    prepared = response.get_json()
    done = browser_finish(
        client,
        prepared["finish_url"],
        key.sign(prepared["to_be_signed"]),
        prepared["document_sha256"],
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["redirect"].endswith(f"/signing/handover/{worklist.id}")
    document = db.session.scalars(sa.select(SignedDocument)).one()
    content = services.stored_content(document)
    assert content.startswith(frozen)
    assert core.validate(content, services.trust_roots()).ok
    assert _events("document.sign")[-1].changes["method"][1] == "browser"
    assert db.session.get(Person, person.id).status == PersonStatus.VERIFIED
    # Signed once: preparing again is refused.
    again = client.post(
        f"/signing/handover/{worklist.id}/browser-prepare",
        data={"csrf_token": _token(client)},
        headers=VI,
    )
    assert again.status_code == 422
    assert _refusals() == ["handover_not_signable"]


def test_a_site_signs_its_daily_list_with_the_browser_key(
    client, login_as, enrolment_ca, make_person, make_site
):
    site = make_site(OWN, SiteLevel.COMMUNE)
    user = login_as(Role.VACCINATION_SITE, OWN, site=site, display_name="Bùi Thị Lan")
    key = BrowserKey()
    assert enrol_browser_key(client, key).status_code == 200
    person = make_person(full_name="Ngô Văn Tùng", status="matched", id_number="001090000031")
    record_services.add_dose(
        person,
        {
            "dose_number": 1,
            "vaccine": "Pfizer",
            "lot": "FA1",
            "vaccinated_on": today_in_vietnam(),
            "site_id": site.id,
        },
    )
    db.session.commit()
    batch_id = open_dialog(client, day=today_in_vietnam().isoformat())
    prepared = _prepare(client, batch_id)
    done = browser_finish(
        client,
        prepared["finish_url"],
        key.sign(prepared["to_be_signed"]),
        prepared["document_sha256"],
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    document = db.session.get(SignedDocument, done.get_json()["document_id"])
    assert document.kind == DocumentKind.SITE_DAILY and document.signer_id == user.id
    assert core.validate(services.stored_content(document), services.trust_roots()).ok
    assert db.session.get(Person, person.id).status == PersonStatus.CONFIRMED


def test_only_signers_reach_the_browser_calls(client, login_as):
    login_as(Role.HEALTH_STATION, OWN)
    token = _token(client)
    assert client.post("/signing/browser/x/finish", data={"csrf_token": token}).status_code == 403
    assert client.get("/signing/browser-key").status_code == 403
    assert _refusals() == []


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_with_the_browser_key(app, client, chair, awaiting, level):
    app.config["SIGNING_LEVEL"] = level  # signing_config restores it
    prepared = _prepare(client, open_dialog(client))
    done = browser_finish(
        client,
        prepared["finish_url"],
        chair.browser_key.sign(prepared["to_be_signed"]),
        prepared["document_sha256"],
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    document = db.session.get(SignedDocument, done.get_json()["document_id"])
    assert document.level == level
    content = services.stored_content(document)
    assert b"/DSS" in content  # the validation data embedded
    assert (b"/DocTimeStamp" in content) == (level == "B-LTA")
    assert core.validate(content, services.trust_roots()).ok
