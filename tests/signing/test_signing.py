"""Signing confirmations: PAdES signatures that pyHanko validates, the PIN, the status
transitions, supersession and the documents' Vietnamese text."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date, timedelta
from io import BytesIO
from unittest import mock

import pytest
import sqlalchemy as sa

from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.clock import today_in_vietnam
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import Dose, Person, PersonStatus
from portal.signing import core, jobs, pki, services
from portal.signing.models import CERTIFIED, DocumentKind, DocumentMember, SignedDocument
from tests.conftest import OWN
from tests.signing.conftest import PIN, scan_image


def stored(document: SignedDocument) -> bytes:
    return services.stored_content(document)


def test_committee_list_signed_validates_and_confirms(chair, awaiting, ca):
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    content = stored(document)
    verdict = core.validate(content, [ca.cert])
    assert verdict.ok, verdict
    report = verdict.signatures[0]
    assert report.intact and report.valid and report.trusted and report.whole_file
    assert report.timestamp_ok and report.timestamp_time is not None
    assert report.signer_name == "Trần Văn Đức"
    statuses = {p.full_name: p.status for p in db.session.scalars(sa.select(Person))}
    assert statuses["Nguyễn Thị Hương"] == PersonStatus.CONFIRMED
    assert statuses["Đặng Văn Lộc"] == PersonStatus.CONFIRMED
    assert statuses["Phạm Văn Em"] == PersonStatus.MISMATCH
    assert document.member_count == 2 and document.kind == DocumentKind.COMMITTEE_LIST
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "document.sign")
    ).one()
    assert event.changes["sha256"][1] == document.sha256
    assert event.changes["certificate_serial"][1] == document.certificate_serial
    assert "Trần Văn Đức" in event.changes["certificate_subject"][1]
    assert sorted(event.changes["person_ids"][1]) == sorted(p.id for p in awaiting[:2])


def test_signature_is_pades_b_t_with_sha256(chair, awaiting):
    from pyhanko.pdf_utils.reader import PdfFileReader

    content = stored(services.sign_committee_list(chair, PIN))
    signature = PdfFileReader(BytesIO(content)).embedded_signatures[0]
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.md_algorithm == "sha256"
    unsigned = signature.signer_info["unsigned_attrs"]
    assert "signature_time_stamp_token" in [a["type"].native for a in unsigned]  # B-T


def test_flipped_byte_fails(chair, awaiting, ca):
    content = bytearray(stored(services.sign_committee_list(chair, PIN)))
    content[len(content) // 3] ^= 0x01
    verdict = core.validate(bytes(content), [ca.cert])
    assert not verdict.ok


def test_incremental_page_edit_is_reported(chair, awaiting, ca):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    content = stored(services.sign_committee_list(chair, PIN))
    writer = IncrementalPdfFileWriter(BytesIO(content))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    verdict = core.validate(out.getvalue(), [ca.cert])
    assert not verdict.ok
    report = verdict.signatures[0]
    assert report.intact  # the signed revision is untouched ...
    assert not report.whole_file and report.modified_after  # ... but the file was edited


def test_untrusted_root_is_not_trusted(chair, awaiting):
    content = stored(services.sign_committee_list(chair, PIN))
    other = pki.make_ca("Another CA")
    verdict = core.validate(content, [other.cert])
    assert not verdict.ok and not verdict.signatures[0].trusted


def test_wrong_pin_refused_and_audited(chair, awaiting):
    with pytest.raises(services.SigningRefused) as refused:
        services.sign_committee_list(chair, "000000")
    assert "PIN" in str(refused.value)
    db.session.commit()
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "signing.pin_refused")
    ).one()
    assert event.actor_id == chair.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) == 0
    assert all(p.status != PersonStatus.CONFIRMED for p in db.session.scalars(sa.select(Person)))
    assert "000000" not in str(event.changes) and PIN not in str(event.changes)


def test_expired_certificate_refused(make_user, give_certificate, awaiting):
    from datetime import UTC, datetime

    user = make_user(Role.COMMITTEE, OWN)
    past = datetime.now(UTC) - timedelta(days=400)
    give_certificate(user, not_before=past, not_after=past + timedelta(days=30))
    with pytest.raises(services.SigningRefused) as refused:
        services.sign_committee_list(user, PIN)
    assert "expired" in str(refused.value).lower() or "hết hạn" in str(refused.value)


def test_certificate_that_is_not_a_signers_fails_validation(
    make_user, give_certificate, awaiting, ca
):
    """A TLS-style certificate (no non-repudiation) signs, but the signature is refused."""
    user = make_user(Role.COMMITTEE, OWN)
    give_certificate(user, signer=False)
    content = stored(services.sign_committee_list(user, PIN))
    verdict = core.validate(content, [ca.cert])
    assert not verdict.ok


def test_no_credential_refused(make_user, awaiting):
    user = make_user(Role.COMMITTEE, OWN)
    with pytest.raises(services.SigningRefused):
        services.sign_committee_list(user, PIN)


def test_nothing_awaiting_refused(chair):
    with pytest.raises(services.SigningRefused):
        services.sign_committee_list(chair, PIN)


def test_site_daily_list(make_user, make_site, make_person, give_certificate, ca):
    site = make_site(OWN, SiteLevel.COMMUNE)
    head = make_user(Role.VACCINATION_SITE, OWN, site=site, display_name="Lê Thị Mai")
    give_certificate(head, title="Thủ trưởng", unit=site.name)
    checked = make_person(full_name="Võ Văn Tâm", status="matched", id_number="001090000011")
    unchecked = make_person(full_name="Bùi Thị Lan", status="mismatch", sex="female")
    today = today_in_vietnam()
    for person in (checked, unchecked):
        record_services.add_dose(
            person,
            {
                "dose_number": 1,
                "vaccine": "Pfizer",
                "lot": "FA1234",
                "vaccinated_on": today,
                "site_id": site.id,
            },
        )
    db.session.commit()
    document = services.sign_site_daily(head, PIN, today)
    db.session.commit()
    assert core.validate(stored(document), [ca.cert]).ok
    assert [m.person_id for m in document.members] == [checked.id]  # commune site: checked only


def test_province_site_signs_without_cleaning(make_user, make_site, make_person, give_certificate):
    site = make_site(OWN, SiteLevel.PROVINCE)
    head = make_user(Role.VACCINATION_SITE, OWN, site=site)
    give_certificate(head, title="Giám đốc", unit=site.name)
    person = make_person(full_name="Bùi Thị Lan", status="mismatch", sex="female")
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
    document = services.sign_site_daily(head, PIN, today_in_vietnam())
    assert document.member_count == 1


def test_certificate_with_qr_code(chair, awaiting, ca, app):
    services.sign_committee_list(chair, PIN)
    db.session.commit()
    person = db.session.get(Person, awaiting[0].id)
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
    credential, signer = services.unlock(chair, PIN)
    document = services.sign_certificate(chair, credential, signer, person)
    db.session.commit()
    content = stored(document)
    assert core.validate(content, [ca.cert]).ok
    assert services.verify_url(document.code).endswith(f"/verify/{document.code}")
    text = pdftotext(content)
    if text is not None:
        assert "Nguyễn Thị Hương" in text and "CHỨNG NHẬN TIÊM CHỦNG VẮC XIN COVID-19" in text
        assert document.code in text


def test_certificate_only_for_confirmed(chair, awaiting):
    credential, signer = services.unlock(chair, PIN)
    with pytest.raises(services.SigningRefused):
        services.sign_certificate(chair, credential, signer, awaiting[0])


def test_a_person_certified_already_is_not_certified_again(chair, awaiting):
    """Issue 15, item 2: one valid certificate per person — a batch skips (and counts) a
    person another batch certified meanwhile, and the database refuses a second one."""
    services.sign_committee_list(chair, PIN)
    db.session.commit()
    credential, signer = services.unlock(chair, PIN)
    person = db.session.get(Person, awaiting[0].id)
    services.sign_certificate(chair, credential, signer, person)
    db.session.commit()
    with pytest.raises(services.AlreadyCertified):
        services.sign_certificate(chair, credential, signer, person)
    db.session.rollback()
    # The batch's list was made before the other batch signed: it skips, and says so.
    listed = [p.id for p in awaiting[:2]]  # the two the committee confirmed
    with mock.patch.object(services, "confirmed_without_certificate", return_value=listed):
        result = jobs.sign_certificates(chair, PIN)
    db.session.commit()
    assert result["signed"] == len(listed) - 1 and result["already"] == 1
    certificates = db.session.scalars(
        sa.select(DocumentMember)
        .join(SignedDocument)
        .where(SignedDocument.kind == DocumentKind.CERTIFICATE)
    ).all()
    assert sorted(m.person_id for m in certificates) == sorted(listed)
    # And the unique index holds it, whatever code tries.
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(
            DocumentMember(
                document_id=next(m.document_id for m in certificates if m.person_id != person.id),
                person_id=person.id,
                basis=CERTIFIED,
                snapshot={},
            )
        )
        db.session.flush()


def pdftotext(content: bytes) -> str | None:
    if shutil.which("pdftotext") is None:
        return None
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_vietnamese_text_extracted_back(chair, awaiting):
    text = pdftotext(stored(services.sign_committee_list(chair, PIN)))
    assert text is not None
    text = " ".join(text.split())  # lines wrapped in the PDF
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "DANH SÁCH XÁC NHẬN THÔNG TIN TIÊM CHỦNG VẮC XIN COVID-19",
        "Nguyễn Thị Hương",
        "Đặng Văn Lộc",
        "TM. ỦY BAN NHÂN DÂN",
        "Trần Văn Đức",
    ):
        assert expected in text, expected
    assert "Phạm Văn Em" not in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_stamp_text_extracted_back(chair, awaiting):
    """The visible stamp says who signed, as what, for which unit and when, in Vietnamese."""
    text = pdftotext(stored(services.sign_committee_list(chair, PIN)))
    assert text is not None
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "Ký bởi: Trần Văn Đức" in lines
    assert f"Chủ tịch – {chair.area.name}" in lines
    assert any(
        re.fullmatch(r"Thời gian ký: \d\d:\d\d:\d\d ngày \d\d/\d\d/\d{4} \(GMT\+7\)", line)
        for line in lines
    ), lines


def test_supersession(chair, awaiting):
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    person = db.session.get(Person, awaiting[0].id)
    record_services.update_person(person, {"full_name": "Nguyễn Thị Hường"}, "sửa tên")
    db.session.commit()
    assert person.status == PersonStatus.NEEDS_RECONFIRMATION
    state = services.portal_state(document)
    assert state.state == "partly_superseded"
    members = {m.person_id: m for m in db.session.scalars(sa.select(DocumentMember))}
    assert members[awaiting[0].id].superseded_at is not None
    assert members[awaiting[1].id].superseded_at is None
    # A change that does not touch identity keeps the confirmation.
    other = db.session.get(Person, awaiting[1].id)
    record_services.update_person(other, {"phone": "0912345678"}, "số điện thoại")
    db.session.commit()
    assert other.status == PersonStatus.CONFIRMED
    # The re-confirmation list offers the superseded person again.
    persons, total = services.awaiting_committee(chair.area_id)
    assert [p.id for p in persons] == [awaiting[0].id]


def test_minutes_upload_confirms(make_user, awaiting):
    chair = make_user(Role.COMMITTEE, OWN)
    minutes = services.print_minutes(chair)
    assert services.minutes_content(minutes).startswith(b"%PDF-")
    services.upload_minutes_scan(minutes, chair, scan_image("PNG"))
    document = services.confirm_minutes(minutes, chair)
    db.session.commit()
    assert document.kind == DocumentKind.MINUTES and document.media_type == "image/png"
    assert {
        p.status
        for p in db.session.scalars(
            sa.select(Person).where(Person.id.in_([awaiting[0].id, awaiting[1].id]))
        )
    } == {PersonStatus.CONFIRMED}
    with pytest.raises(services.SigningRefused):
        services.upload_minutes_scan(services.print_minutes(chair), chair, b"MZ not a scan")


def test_http_tsa_by_url(app, chair, awaiting, ca, pki_dir):
    """SIGNING_TSA_URL: the time-stamp comes from an RFC 3161 server over HTTP."""
    from portal.signing import tsa

    in_process = core.TsaConfig(
        cert=pki.load_pem_cert((pki_dir / "tsa.pem").read_bytes()),
        key=pki.load_pem_key((pki_dir / "tsa-key.pem").read_bytes()),
        chain=(ca.cert,),
    )
    server, url = tsa.serve_in_thread(in_process.timestamper())
    try:
        app.config["SIGNING_TSA_URL"] = url
        assert services.tsa_config().url == url
        document = services.sign_committee_list(chair, PIN)
    finally:
        server.shutdown()
        server.server_close()
    verdict = core.validate(stored(document), [ca.cert])
    assert verdict.ok and verdict.signatures[0].timestamp_ok


def test_unreachable_tsa_refuses_cleanly(app, chair, awaiting):
    app.config["SIGNING_TSA_URL"] = "http://127.0.0.1:9/"
    with pytest.raises(services.SigningRefused):
        services.sign_committee_list(chair, PIN)


def test_level_b_lt(app, chair, awaiting, ca):
    app.config["SIGNING_LEVEL"] = "B-LT"
    document = services.sign_committee_list(chair, PIN)
    assert document.level == "B-LT"
    assert core.validate(stored(document), [ca.cert]).ok


def test_demo_certificates(app, make_user, awaiting, tmp_path):
    """The demo makes its CA and TSA once and a demo PKCS#12 per signing user; the demo
    password unlocks it, and what it signs validates against the demo CA."""
    from portal.signing import demo

    app.config["SIGNING_DEMO_PKI_DIR"] = str(tmp_path / "demo-pki")
    chair = make_user(Role.COMMITTEE, OWN, display_name="Chủ tịch UBND Phường Ba Đình")
    police = make_user(Role.POLICE, OWN)
    make_user(Role.HEALTH_STATION, OWN)
    assert demo.seed("demo-pw") == 2
    assert demo.seed("demo-pw") == 0  # idempotent
    credential = services.active_credential(chair)
    assert credential.demo and services.active_credential(police).demo
    document = services.sign_committee_list(chair, "demo-pw")
    db.session.commit()
    assert core.validate(stored(document), services.trust_roots()).ok
    assert (tmp_path / "demo-pki" / "ca.pem").is_file()


def test_a_health_station_correction_supersedes_the_confirmation(chair, awaiting):
    """The inline correction path (records.services.correct_person) supersedes like any
    other change of identity: the signed list says so for that person only."""
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    person = db.session.get(Person, awaiting[0].id)
    record_services.correct_person(
        person, {"full_name": "Nguyễn Thị Hường"}, "sửa tên", person.version
    )
    db.session.commit()
    assert person.status == PersonStatus.NEEDS_RECONFIRMATION
    assert services.portal_state(document).state == "partly_superseded"
    members = {m.person_id: m for m in db.session.scalars(sa.select(DocumentMember))}
    assert members[awaiting[0].id].superseded_at is not None
    assert members[awaiting[1].id].superseded_at is None
