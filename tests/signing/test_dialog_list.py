"""Issue 13, item 1 (wave 2): the sign dialog signs exactly the persons it showed.

Opening the dialog stores its persons (their record's version and the data shown); the PIN
confirms those still eligible, leaves the others out with the reason, and the signed PDF
lists exactly the confirmed ones. A second submit of the same dialog has no effect.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from portal.areas.models import SiteLevel
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.core.clock import today_in_vietnam
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import Person, PersonStatus
from portal.signing import services
from portal.signing.models import BatchState, SignedDocument, SigningBatch
from tests.conftest import OWN
from tests.signing.conftest import PIN, open_dialog, sign_dialog

HX = {"HX-Request": "true", "HX-Target": "sign-dialog"}


def _text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def _pdfsig(content: bytes, tmp_path) -> str:
    path = tmp_path / "signed.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


def _chair(login_as, give_certificate):
    user = login_as(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    give_certificate(user)
    return user


@pytest.mark.skipif(
    shutil.which("pdfsig") is None or shutil.which("pdftotext") is None,
    reason="poppler-utils not installed",
)
def test_the_dialog_signs_the_persons_it_showed(
    client, login_as, give_certificate, awaiting, make_person, tmp_path
):
    """Issue 13, item 1 (wave 2): between opening the dialog and typing the PIN a person
    becomes eligible (not signed: the dialog did not show them), the page's filter changes
    in another tab (no effect), one shown person's record changes (left out, with the
    reason, on the result and the document page); the signed PDF (pdfsig: valid) lists
    exactly the confirmed persons. Before, the PIN signed whatever the filter then listed."""
    _chair(login_as, give_certificate)
    huong, loc, em = awaiting
    batch_id = open_dialog(client, headers=HX)
    dialog = client.get(f"/signing/batches/{batch_id}").get_data(as_text=True)
    assert "2 người sẽ được xác nhận" in dialog
    assert f'data-person="{huong.id}"' in dialog and f'data-person="{loc.id}"' in dialog
    preview = client.get(f"/signing/batches/{batch_id}/preview.pdf")
    assert preview.status_code == 200
    shown = _text(preview.data)
    assert "Nguyễn Thị Hương" in shown and "Đặng Văn Lộc" in shown

    # Meanwhile: a third person becomes eligible, another tab filters the page, Lộc's
    # record is corrected.
    newcomer = make_person(full_name="Lê Thị Mới", status="matched", id_number="001190000009")
    record_services.update_person(
        db.session.get(Person, em.id), {"status": "verified"}, "verified by the police"
    )
    record_services.update_person(
        db.session.get(Person, loc.id), {"full_name": "Đặng Văn Lộc Sửa"}, "typo"
    )
    db.session.commit()
    assert client.get("/signing?q=huong").status_code == 200

    response = sign_dialog(client, batch_id, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, body[:800]
    assert 'data-testid="signed"' in body and "Đã ký: 1 người được xác nhận" in body
    skipped = body.split('data-testid="skipped"')[1]
    assert f'data-person="{loc.id}" data-reason="changed"' in skipped
    assert "Họ và tên" in skipped  # which field changed

    db.session.expire_all()
    statuses = {p.id: db.session.get(Person, p.id).status for p in (huong, loc, em, newcomer)}
    assert statuses == {
        huong.id: PersonStatus.CONFIRMED,
        loc.id: PersonStatus.VERIFIED,
        em.id: PersonStatus.VERIFIED,
        newcomer.id: PersonStatus.MATCHED,
    }
    document = db.session.scalars(sa.select(SignedDocument)).one()
    assert document.member_count == 1
    assert [m.person_id for m in document.members] == [huong.id]
    content = services.stored_content(document)
    text = _text(content)
    assert "Nguyễn Thị Hương" in text
    assert "Lộc" not in text and "Lê Thị Mới" not in text and "Phạm Văn Em" not in text
    assert "Signature is Valid" in _pdfsig(content, tmp_path)

    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "document.sign")
    ).one()
    assert event.changes["person_ids"][1] == [huong.id]
    assert event.changes["skipped"][1] == [
        {"person_id": loc.id, "reason": "changed", "fields": ["full_name"]}
    ]
    page = client.get(f"/signing/documents/{document.id}").get_data(as_text=True)
    assert f'data-person="{loc.id}" data-reason="changed"' in page


def test_a_second_submit_signs_nothing(client, login_as, give_certificate, awaiting):
    """Issue 13, item 1 (wave 2): the same dialog submitted twice (a double click, the
    browser's back button) signs once; the second answer shows the first signature."""
    _chair(login_as, give_certificate)
    batch_id = open_dialog(client)
    assert sign_dialog(client, batch_id).status_code == 303
    again = sign_dialog(client, batch_id, headers=HX)
    body = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "Danh sách này đã được ký" in body and 'data-testid="signed"' in body
    assert len(db.session.scalars(sa.select(SignedDocument)).all()) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "document.sign")
        )
        == 1
    )


def test_the_signed_answer_brings_the_certificates_waiting_now(
    client, login_as, give_certificate, awaiting
):
    """The dialog's answer (a fragment) replaces the certificates' box too: the persons just
    confirmed await their certificates, and the box above the dialog says so at once, not
    the count from before the signature (seen in a walk: "0 confirmed persons…")."""
    _chair(login_as, give_certificate)
    page = client.get("/signing").get_data(as_text=True)
    assert "0 người đã được xác nhận chưa có giấy chứng nhận" in page
    answer = sign_dialog(client, open_dialog(client), headers=HX)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200
    signed = db.session.scalar(sa.select(SignedDocument))
    assert signed is not None and signed.member_count >= 1
    box = body[body.index('id="certificates"') :]
    assert 'hx-swap-oob="true"' in box[: box.index(">")]
    assert f"{signed.member_count} người đã được xác nhận chưa có giấy chứng nhận" in box
    # A whole page carries the box once, in place, never out of band.
    whole = client.get("/signing").get_data(as_text=True)
    assert whole.count('id="certificates"') == 1 and "hx-swap-oob" not in whole


def test_the_claim_checks_the_state_in_the_database(chair, awaiting):
    """Issue 13, item 1 (wave 2): a request holding a stale copy of the dialog's list (read
    before another request signed it) is refused by the conditional UPDATE it starts with,
    not by what it read."""
    batch = services.prepare_committee(chair)
    db.session.commit()
    stale_id = batch.id
    services.sign_batch(batch, chair, PIN)
    db.session.commit()
    stale = db.session.get(SigningBatch, stale_id)
    # As a concurrent request read it: open (in memory only, not written back).
    set_committed_value(stale, "state", BatchState.OPEN)
    with pytest.raises(services.SigningRefused, match="đã được ký"):
        services.sign_batch(stale, chair, PIN)
    db.session.rollback()
    assert len(db.session.scalars(sa.select(SignedDocument)).all()) == 1


def test_a_dialog_nobody_left_in_is_refused_and_stays_open(chair, awaiting):
    """Issue 13, item 1 (wave 2): when every person shown was confirmed meanwhile (another
    dialog signed them), nothing is signed and nothing is left behind."""
    first = services.prepare_committee(chair)
    second = services.prepare_committee(chair)
    db.session.commit()
    services.sign_batch(first, chair, PIN)
    db.session.commit()
    with pytest.raises(services.SigningRefused):
        services.sign_batch(second, chair, PIN)
    db.session.commit()
    assert db.session.get(SigningBatch, second.id).state == BatchState.OPEN
    assert len(db.session.scalars(sa.select(SignedDocument)).all()) == 1


def test_another_users_dialog_is_not_found(client, login_as, give_certificate, awaiting, make_user):
    """A dialog's list is its creator's: another chair of the commune opens their own."""
    other = make_user(Role.COMMITTEE, OWN, display_name="Lê Văn Phó")
    batch = services.prepare_committee(other)
    db.session.commit()
    _chair(login_as, give_certificate)
    assert client.get(f"/signing/batches/{batch.id}").status_code == 404
    assert sign_dialog(client, batch.id).status_code == 404


def test_a_sites_daily_list_signs_the_days_persons_shown(
    client, login_as, make_site, make_person, give_certificate
):
    """Issue 13, item 1 (wave 2): a site's daily list: a dose recorded after the dialog
    opened is not signed; a shown person whose dose was moved to another day is left out."""
    site = make_site(OWN, SiteLevel.COMMUNE)
    head = login_as(Role.VACCINATION_SITE, OWN, site=site, display_name="Hồ Thị Trưởng")
    give_certificate(head, title="Thủ trưởng", unit=site.name)
    today = today_in_vietnam()
    first = make_person(full_name="Võ Văn Tâm", status="matched", id_number="001090000011")
    moved = make_person(full_name="Trịnh Văn Dời", status="matched", id_number="001090000012")
    later = make_person(full_name="Mai Thị Sau", status="matched", id_number="001190000013")
    record_services.add_dose(
        first,
        {
            "dose_number": 1,
            "vaccine": "Pfizer",
            "lot": "FA1",
            "vaccinated_on": today,
            "site_id": site.id,
        },
    )
    dose = record_services.add_dose(
        moved,
        {
            "dose_number": 2,
            "vaccine": "Pfizer",
            "lot": "FA1",
            "vaccinated_on": today,
            "site_id": site.id,
        },
    )
    db.session.commit()
    batch_id = open_dialog(client, day=today.isoformat())
    record_services.add_dose(
        later,
        {
            "dose_number": 1,
            "vaccine": "Pfizer",
            "lot": "FA2",
            "vaccinated_on": today,
            "site_id": site.id,
        },
    )
    dose = db.session.merge(dose)
    dose.vaccinated_on = date(today.year - 1, 1, 3)
    db.session.commit()
    response = sign_dialog(client, batch_id)
    assert response.status_code == 303
    document = db.session.scalars(sa.select(SignedDocument)).one()
    assert [m.person_id for m in document.members] == [first.id]
    batch = db.session.get(SigningBatch, batch_id)
    assert {m.person_id: m.reason for m in batch.members} == {first.id: None, moved.id: "dose"}
    db.session.expire_all()
    assert db.session.get(Person, later.id).status == PersonStatus.MATCHED
