"""Revoking a signed document: who may, the reason, what verification then says, the
persons it confirmed, the audit trail; a refusal keeps what was typed."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.records.models import Person, PersonStatus
from portal.signing.models import DocumentState, SignedDocument
from tests.conftest import NEIGHBOUR, OWN, csrf_token
from tests.signing.conftest import sign_in_browser


@pytest.fixture
def signed(client, login_as, give_certificate, awaiting):
    """The committee list of OWN signed by its chair (two persons confirmed); the chair is
    still logged in."""
    chair = login_as(Role.COMMITTEE, OWN, display_name="Trần Văn Đức")
    give_certificate(chair)
    response = sign_in_browser(client)
    assert response.status_code == 303
    document = db.session.scalars(sa.select(SignedDocument)).one()
    assert document.member_count == 2
    return document


def _revoke(client, document, reason):
    return client.post(
        f"/signing/documents/{document.id}/revoke",
        data={"csrf_token": csrf_token(client, "/verify"), "reason": reason},
    )


def test_the_signer_revokes_with_a_reason(client, signed, awaiting):
    page = client.get(f"/signing/documents/{signed.id}").get_data(as_text=True)
    assert "Thu hồi văn bản này" in page

    response = _revoke(client, signed, "Ký nhầm danh sách tháng trước")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(SignedDocument, signed.id).state == DocumentState.REVOKED
    for person in awaiting[:2]:
        assert db.session.get(Person, person.id).status == PersonStatus.NEEDS_RECONFIRMATION
    assert db.session.get(Person, awaiting[2].id).status == PersonStatus.MISMATCH

    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "document.revoke")
    ).one()
    assert event.reason == "Ký nhầm danh sách tháng trước"
    assert event.entity_id == str(signed.id)
    assert sorted(event.changes["person_ids"][1]) == sorted(p.id for p in awaiting[:2])

    page = client.get(f"/signing/documents/{signed.id}").get_data(as_text=True)
    assert 'data-state="revoked"' in page and "Ký nhầm danh sách tháng trước" in page
    assert "Trần Văn Đức" in page.split('data-testid="revocation"')[1].split("</div>")[0]
    assert "Thu hồi văn bản này" not in page  # nothing left to revoke

    # The public verification (the QR link and an upload of the file) says so.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/verify")})
    public = client.get(f"/verify/{signed.code}").get_data(as_text=True)
    assert 'data-testid="portal-state" data-state="revoked"' in public
    assert "Đã thu hồi" in public


def test_the_persons_are_awaiting_again_and_can_be_signed_anew(client, signed, awaiting):
    assert _revoke(client, signed, "Sai đơn vị").status_code == 303
    listing = client.get("/signing").get_data(as_text=True)
    assert "Nguyễn Thị Hương" in listing and "Đặng Văn Lộc" in listing
    response = sign_in_browser(client)
    assert response.status_code == 303
    assert db.session.get(Person, awaiting[0].id).status == PersonStatus.CONFIRMED


def test_a_reason_is_required_and_nothing_changes_without_it(client, signed, awaiting):
    response = _revoke(client, signed, "   ")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Hãy nêu lý do thu hồi văn bản." in body
    assert 'aria-invalid="true"' in body
    db.session.expire_all()
    assert db.session.get(SignedDocument, signed.id).state == DocumentState.VALID
    assert db.session.get(Person, awaiting[0].id).status == PersonStatus.CONFIRMED


def test_revoking_twice_is_refused_with_a_message(client, signed):
    assert _revoke(client, signed, "Lần một").status_code == 303
    # The form is gone from the page; a second post (another tab) is refused, not repeated.
    response = _revoke(client, signed, "Lần hai")
    assert response.status_code == 422
    assert "Văn bản này đã bị thu hồi." in response.get_data(as_text=True)
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "document.revoke")
        )
        == 1
    )


@pytest.mark.parametrize(
    ("role", "area_code", "expected"),
    [
        (Role.HEALTH_STATION, OWN, 403),  # sees the document, may not withdraw it
        (Role.POLICE, OWN, 403),
        (Role.COMMITTEE, NEIGHBOUR, 404),  # another commune's document does not exist for them
        (Role.HEALTH_AUTHORITY, "01", 303),
        (Role.ADMIN, "01", 303),
    ],
)
def test_who_may_revoke(client, signed, login_as, role, area_code, expected):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/verify")})
    login_as(role, area_code)
    assert _revoke(client, signed, "Kiểm tra quyền").status_code == expected
    db.session.expire_all()
    revoked = db.session.get(SignedDocument, signed.id).state == DocumentState.REVOKED
    assert revoked == (expected == 303)


def test_verify_pdf_exits_non_zero_for_a_revoked_document(app, client, signed, tmp_path):
    from portal.signing import services

    path = tmp_path / "signed.pdf"
    path.write_bytes(services.stored_content(signed))
    runner = app.test_cli_runner()
    before = runner.invoke(args=["verify-pdf", str(path)])
    assert before.exit_code == 0, before.output
    assert _revoke(client, signed, "Khóa ký bị lộ").status_code == 303
    after = runner.invoke(args=["verify-pdf", str(path)])
    assert after.exit_code == 1
    lines = after.output.splitlines()
    assert lines[-2].startswith("Trên cổng: Đã thu hồi") and lines[-1] == "KHÔNG HỢP LỆ"
