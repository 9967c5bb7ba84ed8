"""Issue 14, item 11: API tokens expire, can be revoked, and keep their last use."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.api.models import ApiClient
from portal.api.services import create_client
from portal.audit.models import AuditEvent
from portal.core.clock import utcnow
from portal.extensions import db


def status(client, token: str) -> int:
    return client.get(
        "/api/v1/feedback/PA-NONE", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def stored(name: str) -> ApiClient:
    found = db.session.scalars(sa.select(ApiClient).where(ApiClient.name == name)).one()
    db.session.refresh(found)
    return found


def test_create_with_an_expiry_and_audit(app):
    """Issue 14, item 11: a token is created with an end date (365 days by default)."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", "create", "cong-a", "--expires-in-days", "30"])
    assert result.exit_code == 0, result.output
    assert "có hiệu lực đến" in result.output
    expires = stored("cong-a").expires_at - utcnow()
    assert timedelta(days=29) < expires <= timedelta(days=30)
    default = runner.invoke(args=["api-token", "create", "cong-b"])
    assert default.exit_code == 0
    assert stored("cong-b").expires_at - utcnow() > timedelta(days=364)
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "api_client.create")
    ).all()
    assert len(events) == 2
    refused = runner.invoke(args=["api-token", "create", "cong-c", "--expires-in-days", "0"])
    assert refused.exit_code != 0


def test_an_expired_token_answers_401(client, app):
    """Issue 14, item 11: an expired token is refused like an unknown one."""
    api_client, token = create_client("cong-het-han")
    db.session.commit()
    assert status(client, token) == 404  # known token, unknown code
    api_client.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = client.get("/api/v1/feedback/PA-NONE", headers={"Authorization": f"Bearer {token}"})
    unknown = client.get("/api/v1/feedback/PA-NONE", headers={"Authorization": "Bearer pa_unknown"})
    assert response.status_code == unknown.status_code == 401
    assert response.get_json() == unknown.get_json()


def test_revoke_from_the_command_line(client, app):
    """Issue 14, item 11: ``flask api-token revoke NAME``: the token answers 401 at once,
    audited; a second revoke or an unknown name is refused."""
    _api_client, token = create_client("cong-thu-hoi")
    db.session.commit()
    assert status(client, token) == 404
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-token", "revoke", "cong-thu-hoi"])
    assert result.exit_code == 0, result.output
    assert "Đã thu hồi" in result.output
    assert status(client, token) == 401
    [event] = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "api_client.revoke")
    ).all()
    assert event.changes["name"] == [None, "cong-thu-hoi"]
    again = runner.invoke(args=["api-token", "revoke", "cong-thu-hoi"])
    assert again.exit_code == 1 and "đã bị thu hồi" in again.output
    unknown = runner.invoke(args=["api-token", "revoke", "khong-co"])
    assert unknown.exit_code == 1 and "Không có hệ thống" in unknown.output


def test_last_use_recorded_at_most_once_a_minute(client, app):
    """Issue 14, item 11: the token's last use is kept, written at most once a minute."""
    _api_client, token = create_client("cong-dung")
    db.session.commit()
    assert stored("cong-dung").last_used_at is None
    status(client, token)
    first = stored("cong-dung").last_used_at
    assert first is not None and utcnow() - first < timedelta(seconds=10)
    status(client, token)
    assert stored("cong-dung").last_used_at == first  # within the minute: not written
    row = stored("cong-dung")
    row.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    status(client, token)
    assert stored("cong-dung").last_used_at > first - timedelta(minutes=2)


def test_list_shows_created_expires_last_used_revoked(client, app):
    """Issue 14, item 11: ``flask api-token list`` shows each token's dates, in Vietnamese."""
    _a, token = create_client("cong-mot")
    create_client("cong-hai")
    db.session.commit()
    status(client, token)
    runner = app.test_cli_runner()
    runner.invoke(args=["api-token", "revoke", "cong-hai"])
    result = runner.invoke(args=["api-token", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Hệ thống kết nối" in lines[0] and "Hết hạn" in lines[0]
    assert "Dùng lần cuối" in lines[0] and "Đã thu hồi" in lines[0]
    assert "giờ Việt Nam" in lines[0]
    one = next(line for line in lines if line.startswith("cong-mot"))
    two = next(line for line in lines if line.startswith("cong-hai"))
    assert one.count("/") == 6 and one.rstrip().endswith("—")  # used, not revoked
    assert two.count("/") == 6 and "—" in two  # revoked, never used
    english = runner.invoke(args=["api-token", "list", "--lang", "en"])
    assert "Last used" in english.output
