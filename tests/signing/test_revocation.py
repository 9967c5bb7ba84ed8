"""Long-term and revocation-aware signatures (issue 17) over the demo PKI of the running demo
services: B-LT and B-LTA embed OCSP responses and CRLs fetched from them; a revoked
certificate signs nothing more, and signatures are judged at their time-stamp's time."""

from __future__ import annotations

import io
import shutil
import subprocess
import time

import pytest
import sqlalchemy as sa
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.signing import core, demo_pki, services
from portal.signing.models import SignedDocument
from tests.conftest import OWN
from tests.signing.conftest import PIN


@pytest.fixture
def demo_chair(make_user, give_demo_certificate):
    user = make_user(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    give_demo_certificate(user)
    return user


def embedded_revinfo_suffices(content: bytes, roots):
    """pyHanko with revocation data required for every certificate of the paths (signer,
    signers' CA, TSA) and no fetching: only what the file's DSS embeds."""
    reader = PdfFileReader(io.BytesIO(content), strict=False)
    [signature] = [s for s in reader.embedded_signatures if s.sig_object_type == "/Sig"]
    context = DocumentSecurityStore.read_dss(reader).as_validation_context(
        {
            "trust_roots": [core.to_asn1_cert(c) for c in roots],
            "allow_fetching": False,
            "revocation_mode": "require",
        }
    )
    return validate_pdf_signature(
        signature, signer_validation_context=context, ts_validation_context=context
    )


def pdfsig(content: bytes, tmp_path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdfsig", str(path)], capture_output=True, text=True, check=False, timeout=60
    ).stdout


@pytest.mark.parametrize("level", ["B-LT", "B-LTA"])
def test_long_term_levels_embed_the_revocation_data(
    app, demo_chair, awaiting, with_demo_services, tmp_path, level
):
    app.config.update(SIGNING_LEVEL=level, SIGNING_TSA_URL=demo_pki.tsa_url(with_demo_services.url))
    document = services.sign_committee_list(demo_chair, PIN)
    db.session.commit()
    assert document.level == level
    content = services.stored_content(document)

    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(content), strict=False))
    assert dss.ocsps and dss.crls  # the signer's OCSP response, the CAs' CRLs

    roots = services.trust_roots()
    # Offline: the file alone proves the certificate was good when signed.
    verdict = core.validate(content, roots, fetch=False)
    assert verdict.ok, verdict
    assert not verdict.signatures[0].revoked
    status = embedded_revinfo_suffices(content, roots)
    assert status.bottom_line, status.pretty_print_details()
    # The same without the DSS fails: the revocation data are what made it hold.
    bare = validate_pdf_signature(
        PdfFileReader(io.BytesIO(content), strict=False).embedded_signatures[0],
        signer_validation_context=core.ValidationContext(
            trust_roots=[core.to_asn1_cert(c) for c in roots],
            allow_fetching=False,
            revocation_mode="require",
            crls=[],
            ocsps=[],
        ),
    )
    assert not bare.bottom_line
    if level == "B-LTA":
        [(when, holds)] = verdict.document_timestamps
        assert holds and when is not None
    else:
        assert verdict.document_timestamps == []
    if shutil.which("pdfsig"):
        output = pdfsig(content, tmp_path)
        assert "Signature is Valid." in output, output


def test_the_demo_services_down_b_t_still_validates_offline(demo_chair, awaiting, app):
    """Fetching off (an offline deployment): B-T validates without revocation data."""
    document = services.sign_committee_list(demo_chair, PIN)
    db.session.commit()
    app.config["SIGNING_REVOCATION_FETCH"] = False
    assert services.verify_content(services.stored_content(document)).ok


def signed_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) or 0


def test_sign_revoke_refuse_and_judge_by_time(
    app, client, login_as, make_person, demo_chair, awaiting, with_demo_services, tmp_path
):
    folder = with_demo_services.folder
    runner = app.test_cli_runner()
    earlier = services.sign_committee_list(demo_chair, PIN)
    db.session.commit()
    earlier_content = services.stored_content(earlier)
    assert services.verify_content(earlier_content).ok

    # The CA revokes the certificate (the portal's credential still looks active): the check
    # before signing asks the OCSP responder and refuses, nothing written.
    credential = services.active_credential(demo_chair)
    entry = demo_pki.find(folder, serial=int(credential.serial, 16))
    revoked = demo_pki.revoke(folder, entry)
    time.sleep(1.1)  # revocations take effect on the next whole second
    make_person(full_name="Võ Thị Lan", status="verified", id_number="001190000009")
    db.session.commit()
    documents = signed_count()
    with pytest.raises(services.SigningRefused) as refused:
        services.sign_committee_list(demo_chair, PIN)
    db.session.commit()
    assert "đã bị thu hồi" in str(refused.value)
    assert signed_count() == documents
    refusal = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "signing.refused")
    ).one()
    assert refusal.changes["reason"][1] == "certificate_revoked"

    # The earlier signature was made before the revocation: still valid, judged at its time.
    verdict = services.verify_content(earlier_content)
    assert verdict.ok, verdict
    assert not verdict.signatures[0].revoked
    assert verdict.signatures[0].timestamp_time < revoked.revoked_at

    # A signature made with the revoked key after the revocation (outside the portal, by
    # whoever holds it) is reported revoked, not valid: by /verify and by verify-pdf.
    cert = demo_pki.certificate(folder, entry.label)
    signer = core.ParsedKeySigner(demo_pki.private_key(folder, entry), cert, demo_pki.chain(folder))
    later = core.sign_pdf(
        earlier_content,
        signer,
        None,
        services.tsa_config().timestamper(),
        level="B-T",
        field_name="ChuKySoSau",
    )
    verdict = services.verify_content(later)
    assert not verdict.ok
    report = verdict.signatures[-1]
    assert report.revoked and report.revoked_at == revoked.revoked_at
    first = verdict.signatures[0]  # made before: not revoked (the second one filled a field)
    assert first.trusted and not first.revoked
    assert services.outcome(verdict, None).reason == "certificate_revoked"

    login_as(Role.HEALTH_STATION, OWN)
    from tests.conftest import csrf_token

    page = client.post(
        "/verify",
        data={
            "csrf_token": csrf_token(client, "/verify"),
            "document": (io.BytesIO(later), "da-ky.pdf"),
        },
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert 'data-verdict="not_valid"' in html
    assert 'data-testid="certificate-revoked"' in html
    assert "Chứng thư số đã bị thu hồi" in html
    assert 'data-testid="revoked"' in html

    path = tmp_path / "later.pdf"
    path.write_bytes(later)
    result = runner.invoke(args=["verify-pdf", str(path)])
    assert result.exit_code == 1, result.output
    assert "CHỨNG THƯ SỐ ĐÃ BỊ THU HỒI" in result.output

    # The administrator's command: the credential is stopped and the act audited.
    result = runner.invoke(
        args=["confirmations", "revoke-certificate", "--user", demo_chair.username]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert services.active_credential(demo_chair) is None
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "signing.certificate_revoked")
    ).one()
    assert event.changes["serial"][1] == credential.serial
    assert event.changes["active"] == [True, False]
    # Revoked once: the first revocation's time stands.
    assert demo_pki.find(folder, label=entry.label).revoked_since == revoked.revoked_since


def test_revoke_certificate_command_by_serial(app, make_user, give_demo_certificate):
    chair = make_user(Role.COMMITTEE, OWN, display_name="Lê Văn Tám")
    credential = give_demo_certificate(chair)
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["confirmations", "revoke-certificate", "--serial", credential.serial.upper()]
    )
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert services.active_credential(chair) is None
    folder = services.demo_pki_dir()
    entry = demo_pki.find(folder, serial=int(credential.serial, 16))
    assert entry.revoked_since and entry.reason == "key_compromise"
    cert, *chain = services.credential_chain(credential)
    time.sleep(1.1)
    assert core.certificate_revocation(cert, chain, services.trust_roots()) is not None


def test_a_certificate_of_another_ca_is_not_revoked_here(app, make_user, give_certificate):
    """The command revokes the demo PKI's certificates only (a licensed CA revokes its own)."""
    chair = make_user(Role.COMMITTEE, OWN)
    credential = give_certificate(chair)
    result = app.test_cli_runner().invoke(
        args=["confirmations", "revoke-certificate", "--serial", credential.serial]
    )
    assert result.exit_code == 1
    assert services.active_credential(chair) is not None
