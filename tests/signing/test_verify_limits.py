"""Issue 14, item 9: the public verification page is rate-limited per address, reuses a
verdict for the same bytes and state, and counts anonymous checks outside the audit chain."""

from __future__ import annotations

from io import BytesIO

import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.signing import core, services
from portal.signing.models import VerificationCount
from tests.conftest import csrf_token
from tests.signing.conftest import PIN


def signed_document(chair):
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    return document


def upload(client, content: bytes, addr: str = "203.0.113.7"):
    return client.post(
        "/verify",
        data={"csrf_token": csrf_token(client, "/verify"), "document": (BytesIO(content), "x.pdf")},
        content_type="multipart/form-data",
        environ_overrides={"REMOTE_ADDR": addr},
    )


def verify_events() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "document.verify")
    )


def counting_validate(monkeypatch) -> list[int]:
    calls: list[int] = []
    real = core.validate

    def spy(content, roots, **options):
        calls.append(1)
        return real(content, roots, **options)

    monkeypatch.setattr(core, "validate", spy)
    return calls


def test_anonymous_uploads_limited_per_address(app, client):
    """Issue 14, item 9: the N+1th anonymous upload from one address in the window gets a
    429 page in Vietnamese with Retry-After; another address is not affected."""
    app.config.update(VERIFY_RATE_LIMIT=3)
    try:
        for _ in range(3):
            assert upload(client, b"not a pdf").status_code == 200
        refused = upload(client, b"not a pdf")
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        assert "kiểm tra quá nhiều lần" in refused.get_data(as_text=True)
        assert upload(client, b"not a pdf", addr="198.51.100.9").status_code == 200
    finally:
        app.config.update(VERIFY_RATE_LIMIT=60)


def test_same_document_validated_once(client, chair, awaiting, monkeypatch):
    """Issue 14, item 9: the same document verified twice (upload, then the QR link) runs
    pyHanko's validation once."""
    document = signed_document(chair)
    content = services.stored_content(document)
    calls = counting_validate(monkeypatch)
    first = upload(client, content).get_data(as_text=True)
    second = client.get(f"/verify/{document.code}").get_data(as_text=True)
    third = upload(client, content).get_data(as_text=True)
    assert len(calls) == 1
    for body in (first, second, third):
        assert 'data-verdict="valid"' in body


def test_revoking_changes_the_cached_verdict(client, chair, awaiting, monkeypatch):
    """Issue 14, item 9: after revoking, the page does not serve the cached verdict."""
    document = signed_document(chair)
    content = services.stored_content(document)
    assert 'data-verdict="valid"' in upload(client, content).get_data(as_text=True)
    services.revoke_document(document, "Ký nhầm", actor=chair)
    db.session.commit()
    calls = counting_validate(monkeypatch)
    body = upload(client, content).get_data(as_text=True)
    assert 'data-verdict="not_valid"' in body and "đã bị thu hồi" in body
    assert len(calls) == 1  # the state changed: validated afresh


def test_anonymous_verification_is_a_count(client, chair, awaiting):
    """Issue 14, item 9: anonymous verifications add no audit event and increment the
    document's count for the day, per source."""
    document = signed_document(chair)
    before = verify_events()
    upload(client, services.stored_content(document))
    upload(client, services.stored_content(document))
    client.get(f"/verify/{document.code}")
    assert verify_events() == before
    counts = dict(
        db.session.execute(
            sa.select(VerificationCount.source, VerificationCount.count).where(
                VerificationCount.document_id == document.id
            )
        ).all()
    )
    assert counts == {"upload": 2, "code": 1}


def test_staff_verification_stays_an_audit_event(app, client, chair, awaiting, login_as):
    """Issue 14, item 9: a logged-in user's verification still adds its audit event (and
    is not rate-limited)."""
    document = signed_document(chair)
    login_as(Role.HEALTH_STATION)
    before = verify_events()
    app.config.update(VERIFY_RATE_LIMIT=1)
    try:
        for _ in range(2):
            assert client.get(f"/verify/{document.code}").status_code == 200
    finally:
        app.config.update(VERIFY_RATE_LIMIT=60)
    assert verify_events() == before + 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(VerificationCount)) == 0
