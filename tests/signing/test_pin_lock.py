"""Issue 14, item 8: five wrong signing PINs in a row lock the signing key until an
administrator unlocks it; the count lives in the database, beside the refusal's audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from portal.signing import services
from portal.signing.cli import unlock_command
from portal.signing.models import SignedDocument, SigningCredential
from tests.conftest import csrf_token, login
from tests.signing.conftest import PIN


def wrong_pins(user, times: int) -> list[str]:
    """``times`` wrong PINs, each committed as a route commits its refusal."""
    messages = []
    for _ in range(times):
        with pytest.raises(services.SigningRefused) as refused:
            services.unlock(user, "000000")
        db.session.commit()
        messages.append(str(refused.value))
    return messages


def actions(name: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == name)))


def test_five_wrong_pins_lock_then_the_right_one_is_refused(chair, awaiting):
    """Issue 14, item 8: after five wrong PINs the right PIN no longer signs."""
    messages = wrong_pins(chair, 5)
    assert "Còn 1 lần thử" in messages[3]
    assert "đã bị khóa" in messages[4] and "Quản trị viên phải mở khóa" in messages[4]
    with pytest.raises(services.SigningRefused) as refused:
        services.sign_committee_list(chair, PIN)
    db.session.commit()
    assert "đã bị khóa" in str(refused.value)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignedDocument)) == 0
    credential = services.active_credential(chair)
    assert credential is not None and credential.locked_at is not None
    assert credential.failed_pins == 5
    locked = actions("signing.credential_locked")
    assert [e.actor_id for e in locked] == [chair.id]
    assert len(actions("signing.pin_refused")) == 5


def test_right_pin_resets_the_count(chair, awaiting):
    """Issue 14, item 8: only wrong PINs in a row count; a right PIN starts again."""
    wrong_pins(chair, 4)
    services.unlock(chair, PIN)
    db.session.commit()
    assert services.active_credential(chair).failed_pins == 0
    wrong_pins(chair, 4)
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    assert document.member_count > 0


def test_signer_told_and_admin_unlocks(client, chair, awaiting, make_user):
    """Issue 14, item 8: the signer sees the lock on the signing page; the administrator
    sees it on the accounts pages and unlocks it there (audited); the PIN then signs."""
    wrong_pins(chair, 5)
    login(client, chair.username)
    page = client.get("/signing").get_data(as_text=True)
    assert 'data-testid="credential-locked"' in page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/signing")})

    admin = make_user(Role.ADMIN, "01")
    assert login(client, admin.username).status_code == 303
    listing = client.get("/admin/accounts?q=" + chair.username).get_data(as_text=True)
    assert 'data-testid="signing-locked"' in listing
    page = client.get(f"/admin/accounts/{chair.id}").get_data(as_text=True)
    assert 'data-testid="signing-locked"' in page and "Mở khóa ký" in page
    token = csrf_token(client, f"/admin/accounts/{chair.id}")
    response = client.post(f"/admin/accounts/{chair.id}/signing-unlock", data={"csrf_token": token})
    assert response.status_code == 303
    assert 'data-testid="signing-locked"' not in client.get(f"/admin/accounts/{chair.id}").get_data(
        as_text=True
    )
    [event] = actions("signing.credential_unlocked")
    assert event.actor_id == admin.id
    document = services.sign_committee_list(chair, PIN)
    db.session.commit()
    assert document.member_count > 0


def test_only_an_administrator_unlocks(client, chair, awaiting, login_as):
    """Issue 14, item 8: the signer cannot unlock their own key."""
    wrong_pins(chair, 5)
    login_as(Role.COMMITTEE)
    token = csrf_token(client, "/signing")
    response = client.post(f"/admin/accounts/{chair.id}/signing-unlock", data={"csrf_token": token})
    assert response.status_code == 403
    assert services.active_credential(chair).locked_at is not None


def test_unlock_from_the_command_line(app, chair, awaiting):
    """Issue 14, item 8: ``flask confirmations unlock --user U`` unlocks, audited."""
    wrong_pins(chair, 5)
    runner = app.test_cli_runner()
    result = runner.invoke(unlock_command, ["--user", chair.username])
    assert result.exit_code == 0, result.output
    assert "Đã mở khóa ký" in result.output
    assert len(actions("signing.credential_unlocked")) == 1
    credential = db.session.scalars(sa.select(SigningCredential)).one()
    db.session.refresh(credential)
    assert credential.locked_at is None and credential.failed_pins == 0
    services.sign_committee_list(chair, PIN)
    again = runner.invoke(unlock_command, ["--user", chair.username])
    assert again.exit_code == 1 and "không bị khóa" in again.output
