"""Minutes (biên bản) without a certificate: printing numbers and freezes exactly its persons;
the signed scan is attached to those minutes and confirms exactly those persons, after a
confirmation step; a double submit has one effect."""

from __future__ import annotations

from io import BytesIO

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.records import services as record_services
from portal.records.models import Person, PersonStatus
from portal.signing import services
from portal.signing.models import DocumentKind, Minutes, MinutesState, SignedDocument
from tests.conftest import OWN, csrf_token
from tests.signing.conftest import scan_image

JPEG = scan_image("JPEG")


def _names(minutes: Minutes) -> set[str]:
    return {m.snapshot["full_name"] for m in minutes.members}


def test_minutes_confirm_the_persons_printed_not_the_current_filter(client, login_as, make_person):
    """Issue 13, item 1: minutes printed for the persons matching "Châu", the page then
    filtered to "Chi", upload → exactly the "Châu" persons are confirmed, nobody else."""
    login_as(Role.COMMITTEE, OWN)
    chau = [
        make_person(full_name=f"Lê Minh Châu {i}", status="matched", id_number=f"00109000010{i}")
        for i in range(3)
    ]
    chi = [
        make_person(full_name=f"Đỗ Thị Chi {i}", status="verified", id_number=f"00119000020{i}")
        for i in range(2)
    ]
    token = csrf_token(client, "/signing")
    printed = client.post("/signing/minutes", data={"csrf_token": token, "q": "Châu"})
    assert printed.status_code == 303
    minutes = db.session.scalars(sa.select(Minutes)).one()
    assert printed.headers["Location"].endswith(f"/signing/minutes/{minutes.id}")
    assert minutes.member_count == 3 and _names(minutes) == {p.full_name for p in chau}
    pdf = client.get(f"/signing/minutes/{minutes.id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert services.minutes_content(minutes) == pdf.data  # the same bytes every time
    # The awaiting page is now filtered to "Chi"; the upload belongs to the minutes.
    assert "Đỗ Thị Chi 0" in client.get("/signing?q=Chi").get_data(as_text=True)
    upload = client.post(
        f"/signing/minutes/{minutes.id}/scan",
        data={"csrf_token": token, "scan": (BytesIO(JPEG), "bien-ban.jpg")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 303
    # Nothing is confirmed before the confirmation step.
    assert {db.session.get(Person, p.id).status for p in chau} == {PersonStatus.MATCHED}
    step = client.get(f"/signing/minutes/{minutes.id}").get_data(as_text=True)
    assert 'data-testid="minutes-confirm"' in step and "3 người sẽ được xác nhận" in step
    assert "(giờ Việt Nam)</dt>" in step  # the printing time says its zone (item 17)
    confirmed = client.post(f"/signing/minutes/{minutes.id}/confirm", data={"csrf_token": token})
    assert confirmed.status_code == 303
    db.session.expire_all()
    assert {db.session.get(Person, p.id).status for p in chau} == {PersonStatus.CONFIRMED}
    assert {db.session.get(Person, p.id).status for p in chi} == {
        PersonStatus.VERIFIED,
        PersonStatus.VERIFIED,
    }
    document = db.session.scalars(sa.select(SignedDocument)).one()
    assert document.kind == DocumentKind.MINUTES and document.member_count == 3
    assert document.media_type == "image/jpeg" and services.stored_content(document) == JPEG
    assert db.session.get(Minutes, minutes.id).document_id == document.id
    actions = [
        e.action
        for e in db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.entity_type == "minutes").order_by(AuditEvent.id)
        )
    ]
    assert actions == ["minutes.print", "minutes.upload", "minutes.confirm"]


def test_persons_no_longer_eligible_are_listed_and_skipped(client, login_as, make_person):
    """Issue 13, item 1: a person whose record changed since printing, or who was confirmed
    meanwhile, is named with the reason on the confirmation step and skipped."""
    chair = login_as(Role.COMMITTEE, OWN)
    kept = make_person(full_name="Lê Minh Châu", status="matched", id_number="001090000101")
    changed = make_person(full_name="Lê Văn Châu", status="matched", id_number="001090000102")
    mismatch = make_person(full_name="Hà Thị Châu", status="matched", id_number="001190000103")
    minutes = services.print_minutes(chair)
    db.session.commit()
    record_services.update_person(
        db.session.get(Person, changed.id), {"id_number": "001090000199"}, "sửa số định danh"
    )
    db.session.get(Person, mismatch.id).status = PersonStatus.MISMATCH
    db.session.commit()
    services.upload_minutes_scan(minutes, chair, JPEG)
    db.session.commit()
    page = client.get(f"/signing/minutes/{minutes.id}").get_data(as_text=True)
    assert "1 người sẽ được xác nhận" in page
    assert "Số định danh" in page and "Sai lệch" in page
    assert f'data-person="{kept.id}" data-eligible="true"' in page
    assert f'data-person="{changed.id}" data-eligible="false"' in page
    services.confirm_minutes(minutes, chair)
    db.session.commit()
    assert db.session.get(Person, kept.id).status == PersonStatus.CONFIRMED
    assert db.session.get(Person, changed.id).status != PersonStatus.CONFIRMED
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "minutes.confirm")
    ).one()
    skipped = {s["person_id"]: s["reason"] for s in event.changes["skipped"][1]}
    assert skipped == {changed.id: "changed", mismatch.id: "status"}


def test_a_double_confirm_has_one_effect(client, login_as, make_person):
    """Issue 13, item 1: the second of two identical submits changes nothing."""
    chair = login_as(Role.COMMITTEE, OWN)
    make_person(full_name="Lê Minh Châu", status="matched", id_number="001090000101")
    minutes = services.print_minutes(chair)
    services.upload_minutes_scan(minutes, chair, JPEG)
    db.session.commit()
    token = csrf_token(client, f"/signing/minutes/{minutes.id}")
    first = client.post(f"/signing/minutes/{minutes.id}/confirm", data={"csrf_token": token})
    second = client.post(f"/signing/minutes/{minutes.id}/confirm", data={"csrf_token": token})
    assert first.status_code == 303 and second.status_code == 409
    assert "đã được xác nhận" in second.get_data(as_text=True)
    assert len(db.session.scalars(sa.select(SignedDocument)).all()) == 1
    db.session.expire_all()
    assert db.session.get(Minutes, minutes.id).state == MinutesState.CONFIRMED
    # A scan can no longer replace the one that confirmed.
    late = client.post(
        f"/signing/minutes/{minutes.id}/scan",
        data={"csrf_token": token, "scan": (BytesIO(JPEG), "x.jpg")},
        content_type="multipart/form-data",
    )
    assert late.status_code == 422


def test_confirm_before_upload_and_bad_scan_are_refused_where_the_action_was(
    client, login_as, make_person
):
    """Issue 13, item 12: an upload error is shown at the upload form, at the top of the
    minutes page, announced (role=alert)."""
    chair = login_as(Role.COMMITTEE, OWN)
    make_person(full_name="Lê Minh Châu", status="matched", id_number="001090000101")
    minutes = services.print_minutes(chair)
    db.session.commit()
    token = csrf_token(client, f"/signing/minutes/{minutes.id}")
    early = client.post(f"/signing/minutes/{minutes.id}/confirm", data={"csrf_token": token})
    assert early.status_code == 409
    bad = client.post(
        f"/signing/minutes/{minutes.id}/scan",
        data={"csrf_token": token, "scan": (BytesIO(b"GIF89a"), "x.gif")},
        content_type="multipart/form-data",
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    error = body.index('data-testid="minutes-error"')
    assert 'role="alert"' in body[error - 120 : error] and body.index('name="scan"') > error
    assert "PDF, JPEG hoặc PNG" in body
    db.session.expire_all()
    assert db.session.get(Minutes, minutes.id).state == MinutesState.PRINTED


def test_minutes_of_another_commune_are_404(client, login_as, make_user, make_person):
    from tests.conftest import NEIGHBOUR

    chair = make_user(Role.COMMITTEE, OWN)
    make_person(full_name="Lê Minh Châu", status="matched", id_number="001090000101")
    minutes = services.print_minutes(chair)
    db.session.commit()
    login_as(Role.COMMITTEE, NEIGHBOUR)
    assert client.get(f"/signing/minutes/{minutes.id}").status_code == 404
    assert client.get(f"/signing/minutes/{minutes.id}/pdf").status_code == 404


def test_a_scan_must_parse_as_a_pdf_or_an_image(client, login_as, make_person):
    """Issue 14, item 15: six bytes starting with ``%PDF-`` (or a JPEG/PNG signature
    followed by junk) were accepted as the scan of signed minutes; a scan must now parse
    as a PDF or decode as an image, and is refused in Vietnamese otherwise."""
    from tests.signing.conftest import scan_pdf

    chair = login_as(Role.COMMITTEE, OWN)
    make_person(full_name="Lê Minh Châu", status="matched", id_number="001090000101")
    minutes = services.print_minutes(chair)
    db.session.commit()
    token = csrf_token(client, f"/signing/minutes/{minutes.id}")

    def post(content: bytes, name: str):
        return client.post(
            f"/signing/minutes/{minutes.id}/scan",
            data={"csrf_token": token, "scan": (BytesIO(content), name)},
            content_type="multipart/form-data",
        )

    for content, name in [
        (b"%PDF-", "x.pdf"),
        (b"%PDF-1", "x.pdf"),
        (b"%PDF-1.4\n" + b"0" * 200, "x.pdf"),
        (b"\xff\xd8\xff\xe0" + b"0" * 200, "x.jpg"),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 100, "x.png"),
        (scan_image("PNG")[:-40], "cut.png"),
    ]:
        refused = post(content, name)
        assert refused.status_code == 422, name
        assert "Không đọc được bản quét" in refused.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Minutes, minutes.id).state == MinutesState.PRINTED
    for content, name in [
        (scan_pdf(), "bien-ban.pdf"),
        (scan_image("PNG"), "bien-ban.png"),
        (scan_image("JPEG"), "bien-ban.jpg"),
    ]:
        assert post(content, name).status_code == 303, name
