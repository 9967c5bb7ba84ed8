"""Remote signing over the CSC API (issue 17) against the demo CSC provider, a real HTTP
service on loopback (certomancer-csc-dummy, explicit PIN authorisation): the PDF validates,
the portal holds no private key, and every provider failure is refused cleanly."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from flask import g
from pyhanko.sign.signers.csc_signer import CSCSigner
from pyhanko.sign.signers.pdf_cms import SimpleSigner

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.accounts import SigningMethod
from portal.extensions import db
from portal.records.models import Dose, Person, PersonStatus
from portal.signing import core, jobs, remote, services
from portal.signing.models import (
    BatchState,
    DocumentKind,
    SignedDocument,
    SignerBackend,
    SigningBatch,
    SigningCredential,
)
from tests.conftest import OWN, PASSWORD, csrf_token
from tests.signing.conftest import PIN, open_dialog, sign_dialog


def _credential(user) -> SigningCredential:
    credential = services.active_credential(user)
    assert credential is not None and credential.backend == SignerBackend.CSC
    return credential


def _documents() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) or 0


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _point_at(user, url: str) -> None:
    _credential(user).provider_url = url
    db.session.commit()


def test_linking_reads_the_chain_and_the_authorisation_mode(csc_chair, with_demo_services):
    credential = _credential(csc_chair)
    assert credential.provider_url == with_demo_services.url
    assert credential.provider_credential_id.startswith("demo/")
    assert credential.provider_auth == "pin" and credential.provider_max_batch >= 100
    assert credential.sealed_pkcs12 is None and credential.key_label is None
    assert "Trần Văn Đức" in credential.subject
    assert credential.certificate_pem.count("BEGIN CERTIFICATE") == 3  # leaf, CA, root


def test_linking_an_unknown_credential_is_refused(make_user, with_demo_services, closed_port):
    user = make_user(Role.COMMITTEE, OWN)
    with pytest.raises(services.RemoteRefused) as refused:
        services.add_csc_credential(user, with_demo_services.url, "demo/nobody", "T", "U")
    assert refused.value.reason in (remote.CREDENTIAL, remote.REFUSED)
    with pytest.raises(services.RemoteRefused) as down:
        services.add_csc_credential(user, f"http://127.0.0.1:{closed_port}", "demo/x", "T", "U")
    assert down.value.reason == remote.UNAVAILABLE
    assert "Không kết nối được" in str(down.value)


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="poppler-utils not installed")
def test_the_chair_signs_at_the_provider_and_the_pdf_validates(
    client, csc_chair, awaiting, tmp_path
):
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "username": csc_chair.username,
            "password": PASSWORD,
        },
    )
    page = client.get("/signing").get_data(as_text=True)
    assert "Phương thức ký: Ký số từ xa (nhà cung cấp CSC)" in page
    batch_id = open_dialog(client)
    response = sign_dialog(client, batch_id)
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:400]
    document = db.session.scalars(sa.select(SignedDocument)).one()
    content = services.stored_content(document)
    verdict = core.validate(content, services.trust_roots())
    report = verdict.signatures[0]
    assert verdict.ok and report.intact and report.valid and report.trusted, verdict
    assert report.timestamp_ok and document.level == "B-T"
    assert report.signer_name == "Trần Văn Đức"
    path = tmp_path / "signed.pdf"
    path.write_bytes(content)
    pdfsig = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in pdfsig
    event = _events("document.sign")[0]
    assert event.changes["method"] == [None, "csc"]
    assert event.changes["certificate_serial"][1] == _credential(csc_chair).serial
    statuses = {p.full_name: p.status for p in db.session.scalars(sa.select(Person))}
    assert statuses["Nguyễn Thị Hương"] == PersonStatus.CONFIRMED


def test_the_portal_holds_no_private_key(app, csc_chair):
    credential, signer = services.unlock(csc_chair, PIN)
    assert isinstance(signer, CSCSigner) and not isinstance(signer, SimpleSigner)
    assert getattr(signer, "signing_key", None) is None
    held = [*vars(signer).values(), *vars(signer.auth_manager).values()]
    assert not any(isinstance(value, PrivateKeyTypes) for value in held)
    assert not any("PrivateKeyInfo" in type(value).__name__ for value in held)
    assert signer in g.remote_signers  # closed with the app context


def test_a_wrong_pin_is_refused_by_the_provider_and_nothing_is_written(client, csc_chair, awaiting):
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(client),
            "username": csc_chair.username,
            "password": PASSWORD,
        },
    )
    batch_id = open_dialog(client)
    response = sign_dialog(client, batch_id, pin="135790")
    assert response.status_code == 422
    assert "Nhà cung cấp dịch vụ ký số từ xa từ chối mã PIN hoặc OTP" in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert _documents() == 0
    assert db.session.get(SigningBatch, batch_id).state == BatchState.OPEN
    assert {p.status for p in awaiting[:2]} <= {PersonStatus.MATCHED, PersonStatus.VERIFIED}
    refused = _events("signing.pin_refused")
    assert [e.changes["reason"][1] for e in refused] == ["provider_wrong_pin"]
    # The provider counts wrong PINs; the portal does not lock its side too.
    assert _credential(csc_chair).failed_pins == 0 and _credential(csc_chair).locked_at is None
    # And the right PIN then signs.
    assert sign_dialog(client, batch_id).status_code in (200, 303)
    assert _documents() == 1


def test_a_provider_that_is_down_is_refused_cleanly(csc_chair, awaiting, closed_port):
    _point_at(csc_chair, f"http://127.0.0.1:{closed_port}")
    with pytest.raises(services.RemoteRefused) as refused:
        services.sign_committee_list(csc_chair, PIN)
    db.session.commit()  # as the routes do: the refusal's audit event stays
    assert refused.value.reason == remote.UNAVAILABLE
    assert "Không kết nối được với nhà cung cấp" in str(refused.value)
    assert _documents() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SigningBatch)) == 0
    assert [e.changes["reason"][1] for e in _events("signing.refused")] == ["provider_unavailable"]


@pytest.mark.parametrize(
    ("mode", "reason", "words"),
    [
        ("garbage", remote.BAD_ANSWER, "trả lời không hợp lệ"),
        ("forged", remote.BAD_ANSWER, "trả lời không hợp lệ"),
        ("slow", remote.TIMEOUT, "không trả lời kịp thời"),
    ],
)
def test_garbage_forged_or_slow_answers_are_refused(
    app, csc_chair, awaiting, junk_provider, mode, reason, words
):
    junk_provider.mode = mode
    _point_at(csc_chair, junk_provider.url)
    app.config["SIGNING_CSC_TIMEOUT"] = 1
    try:
        with pytest.raises(services.RemoteRefused) as refused:
            services.sign_committee_list(csc_chair, PIN)
    finally:
        app.config["SIGNING_CSC_TIMEOUT"] = 10
    db.session.commit()
    assert refused.value.reason == reason and words in str(refused.value)
    assert junk_provider.calls  # it was asked
    assert _documents() == 0
    assert {p.status for p in db.session.scalars(sa.select(Person))} == {
        PersonStatus.MATCHED,
        PersonStatus.VERIFIED,
        PersonStatus.MISMATCH,
    }
    assert [e.changes["reason"][1] for e in _events("signing.refused")] == [f"provider_{reason}"]


def test_a_communes_certificates_take_one_authorisation(app, csc_chair, make_person):
    persons = [
        make_person(full_name=f"Người Số {i}", status="confirmed", id_number=f"0011900000{i:02d}")
        for i in range(12)
    ]
    for person in persons:
        db.session.add(
            Dose(
                person_id=person.id,
                dose_number=1,
                vaccine="AstraZeneca",
                lot="AB12",
                vaccinated_on=date(2021, 8, 1),
            )
        )
    db.session.commit()
    result = jobs.sign_certificates(csc_chair, PIN)
    db.session.commit()
    assert result["signed"] == 12
    (signer,) = g.remote_signers
    assert signer.auth_manager.authorisations == 1  # one authorisation, 12 hashes
    documents = db.session.scalars(
        sa.select(SignedDocument).where(SignedDocument.kind == DocumentKind.CERTIFICATE)
    ).all()
    assert len(documents) == 12
    roots = services.trust_roots()
    for document in documents[:3]:
        assert core.validate(services.stored_content(document), roots).ok
    methods = {e.changes["method"][1] for e in _events("document.sign")}
    assert methods == {"csc"}


def test_on_sqlite_a_batch_holds_the_write_lock_no_longer_than_a_server_keys_commits(
    app, csc_chair
):
    """A chunk of certificates is built and signed inside the job's transaction; on SQLite
    that holds the write lock, so a chunk is at most COMMIT_EVERY documents there (a walk
    saw logins answer 503 while a chunk of 100 was signed); PostgreSQL takes the batch."""
    credential = services.active_credential(csc_chair)
    expected = jobs.COMMIT_EVERY if db.engine.dialect.name == "sqlite" else 100
    assert jobs.chunk_size(credential) == expected


def test_a_refused_batch_of_certificates_writes_nothing(app, csc_chair, make_person):
    for i in range(3):
        make_person(full_name=f"Người {i}", status="confirmed", id_number=f"00219000000{i}")
    with pytest.raises(services.RemoteRefused):
        jobs.sign_certificates(csc_chair, "000000")
    db.session.commit()
    assert _documents() == 0
    assert len(_events("signing.pin_refused")) == 1


def test_server_keys_are_refused_when_the_deployment_forbids_them(app, chair, awaiting):
    app.config["SIGNING_ALLOW_SERVER_KEYS"] = False
    try:
        with pytest.raises(services.SigningRefused) as refused:
            services.sign_committee_list(chair, PIN)
    finally:
        app.config["SIGNING_ALLOW_SERVER_KEYS"] = True
    db.session.commit()
    assert "không ký bằng khoá lưu trên máy chủ" in str(refused.value)
    assert _documents() == 0
    assert [e.changes["reason"][1] for e in _events("signing.refused")] == [
        "server_keys_disallowed"
    ]
    # Allowed again (development, tests, the demo), the same key signs.
    assert services.sign_committee_list(chair, PIN).kind == DocumentKind.COMMITTEE_LIST


def test_the_credential_follows_the_accounts_method(csc_chair, give_certificate):
    give_certificate(csc_chair)  # a server key too, kept beside the remote credential
    assert _credential(csc_chair).backend == SignerBackend.CSC
    services.set_signing_method(csc_chair, SigningMethod.SERVER)
    assert services.active_credential(csc_chair).backend == SignerBackend.PKCS12
    services.set_signing_method(csc_chair, SigningMethod.BROWSER)
    assert services.active_credential(csc_chair) is None  # no browser key enrolled
    services.set_signing_method(csc_chair, SigningMethod.CSC)
    assert services.active_credential(csc_chair).backend == SignerBackend.CSC


# --- the administrator's choice, on the account page --------------------------------------


def _method_form(client, account, method: str):
    return client.post(
        f"/admin/accounts/{account.id}/signing-method",
        data={"csrf_token": csrf_token(client, f"/admin/accounts/{account.id}"), "method": method},
    )


def test_the_administrator_sets_the_method_on_the_account_page(app, client, login_as, make_user):
    login_as(Role.ADMIN, OWN)
    chair = make_user(Role.COMMITTEE, OWN)
    page = client.get(f"/admin/accounts/{chair.id}").get_data(as_text=True)
    assert "Phương thức ký" in page and 'value="server"' in page and 'value="csc"' in page
    response = _method_form(client, chair, "csc")
    assert response.status_code == 303
    db.session.expire_all()
    assert chair.signing_method == SigningMethod.CSC
    event = _events("signing.method")[0]
    assert event.changes["signing_method"] == [None, "csc"]
    assert "Đã lưu phương thức ký" in client.get(f"/admin/accounts/{chair.id}").get_data(
        as_text=True
    )


def test_server_keys_are_not_offered_nor_accepted_when_forbidden(app, client, login_as, make_user):
    login_as(Role.ADMIN, OWN)
    chair = make_user(Role.COMMITTEE, OWN)
    app.config["SIGNING_ALLOW_SERVER_KEYS"] = False
    try:
        page = client.get(f"/admin/accounts/{chair.id}").get_data(as_text=True)
        assert 'value="server"' not in page and 'value="browser"' in page
        assert _method_form(client, chair, "server").status_code == 303
        shown = client.get(f"/admin/accounts/{chair.id}").get_data(as_text=True)
        assert "Không thể chọn phương thức ký này ở đây." in shown
        db.session.expire_all()
        assert chair.signing_method is None
        with pytest.raises(services.SigningRefused):
            services.set_signing_method(chair, SigningMethod.SERVER)
    finally:
        app.config["SIGNING_ALLOW_SERVER_KEYS"] = True
    assert _events("signing.method") == []


def test_the_administrator_links_a_remote_credential(
    app, client, login_as, make_user, with_demo_services
):
    from portal.signing import demo

    login_as(Role.ADMIN, OWN)
    chair = make_user(Role.COMMITTEE, OWN, display_name="Lê Thị Mai")
    credential_id, cert = demo.add_csc_signer("Lê Thị Mai", "Chủ tịch", "UBND Phường Ba Đình")
    response = client.post(
        f"/admin/accounts/{chair.id}/signing-csc",
        data={
            "csrf_token": csrf_token(client, f"/admin/accounts/{chair.id}"),
            "provider_url": with_demo_services.url,
            "credential_id": credential_id,
            "title": "Chủ tịch",
            "unit": "UBND Phường Ba Đình",
        },
    )
    assert response.status_code == 303
    credential = db.session.scalars(
        sa.select(SigningCredential).where(SigningCredential.user_id == chair.id)
    ).one()
    assert credential.backend == SignerBackend.CSC and credential.provider_auth == "pin"
    assert credential.serial == format(cert.serial_number, "x")
    page = client.get(f"/admin/accounts/{chair.id}").get_data(as_text=True)
    assert "Đã liên kết chứng thư ký số từ xa" in page and credential_id in page


def test_the_demo_links_its_signers_to_the_demo_provider(
    app, make_user, awaiting, with_demo_services
):
    """`make demo` seeds with the demo services configured: each signer's key is held by the
    demo CSC provider (method csc), and signing works once the services run."""
    from portal.signing import demo

    chair = make_user(Role.COMMITTEE, OWN, display_name="Võ Thị Lan")
    assert demo.seed(PIN) >= 1
    db.session.commit()
    credential = _credential(chair)
    assert credential.demo and credential.provider_url == with_demo_services.url
    assert chair.signing_method == SigningMethod.CSC
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    assert core.validate(services.stored_content(document), services.trust_roots()).ok


def test_the_command_line_links_a_remote_credential(app, make_user, with_demo_services):
    from portal.signing import demo

    chair = make_user(Role.COMMITTEE, OWN, display_name="Đỗ Văn Hùng")
    credential_id, _cert = demo.add_csc_signer("Đỗ Văn Hùng", "Chủ tịch", "UBND Phường Ba Đình")
    result = app.test_cli_runner().invoke(
        args=["confirmations", "link-csc", "--user", chair.username]
        + ["--provider", with_demo_services.url, "--credential", credential_id]
        + ["--title", "Chủ tịch", "--unit", "UBND Phường Ba Đình"]
    )
    assert result.exit_code == 0, result.output
    assert "Đỗ Văn Hùng" in result.output
    db.session.expire_all()
    assert chair.signing_method == SigningMethod.CSC
    assert _credential(chair).provider_credential_id == credential_id
