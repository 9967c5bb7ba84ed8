"""Issue 14, item 13: a second factor at sign-in — an authenticator app (TOTP), a passkey
(WebAuthn) or a recovery code — required per role of a province by its administrator; set
up at the first sign-in after that; the user logged in only once it passes; every change
audited; wrong codes throttled like wrong passwords."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from datetime import UTC, datetime, timedelta

import cbor2
import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import bytes_to_base64url

from portal.areas.models import Area
from portal.audit.models import AuditEvent
from portal.auth import mfa
from portal.auth.models import LoginSession, MfaRequirement, Passkey, RecoveryCode, Role
from portal.extensions import db
from tests.conftest import CAO_BANG, HANOI, OTHER_PROVINCE, OWN, PASSWORD, csrf_token, login

# On a step boundary plus 5 s, so that "the step before" and "after" are unambiguous.
T0 = datetime(2026, 3, 2, 1, 0, 5, tzinfo=UTC)
STEP = timedelta(seconds=30)
SECRET_RE = re.compile(r'data-testid="totp-secret">([A-Z2-7 ]+)<')
CODES_RE = re.compile(r"<li class=\"col\"><code>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</code>")


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def events(action: str, username: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = sa.select(AuditEvent).where(AuditEvent.action == action)
    if username is not None:
        query = query.where(AuditEvent.entity_id == username)
    return list(db.session.scalars(query.order_by(AuditEvent.seq)))


def logged_in(client) -> bool:
    response = client.get("/records")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def require(role: Role, province: str = HANOI) -> None:
    mfa.set_required_roles(db.session.scalar(sa.select(Area).where(Area.code == province)), {role})
    db.session.commit()


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def post_code(client, code: str):
    return client.post(
        "/login/second-factor",
        data={"code": code, "csrf_token": csrf_token(client, "/login/second-factor")},
    )


def with_app(user, moment: datetime = T0) -> str:
    """Give ``user`` an authenticator app set up at ``moment`` (its code then is used)."""
    secret = mfa.new_totp_secret()
    with at(moment):
        mfa.enrol_totp(user, secret, code_at(secret, moment))
    db.session.commit()
    return secret


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# --- the requirement forces a first set-up ---------------------------------------------------


def test_required_for_the_role_forces_enrolment_with_an_app_then_shows_recovery_codes(
    client, make_user
):
    user = make_user(Role.COMMITTEE)
    require(Role.COMMITTEE)
    with at(T0):
        response = login(client, user.username)
        assert response.status_code == 303
        assert response.headers["Location"] == "/login/enrol"
        assert not logged_in(client)  # the password alone logs nobody in
        page = client.get("/login/enrol")
        assert page.status_code == 200
        assert page.headers["Cache-Control"] == "no-store"
        text = page.get_data(as_text=True)
        assert "<svg" in text and "style=" not in text.split("<main", 1)[1]
        secret = SECRET_RE.search(text).group(1).replace(" ", "")
        # The same secret while the set-up lasts (a reload does not change the QR code).
        assert (
            SECRET_RE.search(client.get("/login/enrol").get_data(as_text=True))
            .group(1)
            .replace(" ", "")
            == secret
        )
        token = csrf_token(client, "/login/enrol")
        wrong = client.post("/login/enrol/app", data={"code": "000000", "csrf_token": token})
        assert wrong.status_code == 422 and not logged_in(client)
        done = client.post(
            "/login/enrol/app", data={"code": code_at(secret, T0), "csrf_token": token}
        )
        assert done.status_code == 200
        assert done.headers["Cache-Control"] == "no-store"
        codes = CODES_RE.findall(done.get_data(as_text=True))
        assert len(codes) == 10 and len(set(codes)) == 10
        assert logged_in(client)
    stored = db.session.scalars(
        sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)
    ).all()
    assert len(stored) == 10 and not any(c.replace("-", "") in h for c in codes for h in stored)
    [added] = events("user.mfa_totp_add", user.username)
    assert added.actor_id == user.id
    assert added.changes == {"authenticator_app": [None, "set_up"]}
    assert secret not in json.dumps(added.changes)
    [made] = events("user.mfa_recovery_codes", user.username)
    assert made.changes == {"recovery_codes_left": [0, 10]}
    [entered] = events("auth.login", user.username)
    assert entered.changes == {"factor": [None, "totp"]}
    assert len(events("auth.mfa_asked", user.username)) == 1


def test_the_requirement_is_per_role_and_province(client, make_user, app):
    require(Role.COMMITTEE)
    police = make_user(Role.POLICE)
    elsewhere = make_user(Role.COMMITTEE, OTHER_PROVINCE)
    for user in (police, elsewhere):
        fresh = app.test_client()
        response = login(fresh, user.username)
        assert response.headers["Location"] == "/records"
        assert logged_in(fresh)
    # The health station is not among the roles a second factor can be required of.
    with pytest.raises(mfa.MfaRefused):
        mfa.set_required_roles(
            db.session.scalar(sa.select(Area).where(Area.code == HANOI)), {Role.HEALTH_STATION}
        )


def test_the_pending_sign_in_expires(client, make_user):
    user = make_user(Role.POLICE)
    secret = with_app(user)
    with at(T0 + STEP * 4):
        assert login(client, user.username).headers["Location"] == "/login/second-factor"
    with at(T0 + STEP * 4 + timedelta(minutes=10, seconds=1)):
        late = client.get("/login/second-factor")
        assert late.status_code == 303 and late.headers["Location"] == "/login"
        response = client.post(
            "/login/second-factor",
            data={"code": code_at(secret, T0 + STEP * 24), "csrf_token": csrf_token(client)},
        )
        assert response.status_code == 303 and response.headers["Location"] == "/login"
        assert not logged_in(client)


# --- signing in with the app -----------------------------------------------------------------


def test_login_with_the_app_code_and_the_same_code_is_refused_twice(client, make_user, app):
    user = make_user(Role.ADMIN, HANOI)
    secret = with_app(user)
    later = T0 + STEP * 3
    with at(later):
        response = login(client, user.username)
        assert response.headers["Location"] == "/login/second-factor"
        assert not logged_in(client)
        page = client.get("/login/second-factor").get_data(as_text=True)
        assert 'data-passkey="get"' not in page
        wrong = post_code(client, "123456" if code_at(secret, later) != "123456" else "654321")
        assert wrong.status_code == 401 and not logged_in(client)
        ok = post_code(client, code_at(secret, later))
        assert ok.status_code == 303 and ok.headers["Location"] == "/dashboard"
        assert logged_in(client)
        # Another browser, the same 30 seconds, the same code: refused.
        other = app.test_client()
        login(other, user.username)
        again = post_code(other, code_at(secret, later))
        assert again.status_code == 401 and not logged_in(other)
    [failed, failed_again] = events("auth.mfa_failed", user.username)
    assert failed.changes == {"factor": [None, "totp"]} and failed.actor_id == user.id
    [entered] = events("auth.login", user.username)
    assert entered.changes == {"factor": [None, "totp"]}


def test_the_code_of_the_step_before_or_after_passes_not_two_steps_away(make_user, app):
    user = make_user(Role.POLICE)
    secret = with_app(user)
    now = T0 + STEP * 10
    cases = [
        (now - STEP * 2, False),
        (now + STEP * 2, False),
        (now - STEP, True),
        (now + STEP, True),
    ]
    for moment, accepted in cases:
        client = app.test_client()
        with at(now):
            login(client, user.username)
            response = post_code(client, code_at(secret, moment))
        assert (response.status_code == 303) is accepted, moment
    # After the step after was used, the current step's code is older: refused.
    client = app.test_client()
    with at(now):
        login(client, user.username)
        assert post_code(client, code_at(secret, now)).status_code == 401


def test_the_next_url_survives_the_second_step(client, make_user):
    user = make_user(Role.POLICE)
    secret = with_app(user)
    with at(T0 + STEP):
        token = csrf_token(client)
        client.post(
            "/login",
            data={
                "username": user.username,
                "password": PASSWORD,
                "csrf_token": token,
                "next": "/worklists/review",
            },
        )
        response = post_code(client, code_at(secret, T0 + STEP))
    assert response.headers["Location"] == "/worklists/review"


# --- recovery codes ----------------------------------------------------------------------------


def test_a_recovery_code_opens_one_sign_in_only(client, make_user, app):
    user = make_user(Role.POLICE)
    with_app(user)
    codes = mfa.generate_recovery_codes(user)
    db.session.commit()
    with at(T0 + STEP):
        login(client, user.username)
        # Typed loosely: upper case, spaces, an O for a zero is read as Crockford does.
        typed = codes[0].upper().replace("-", " ")
        response = post_code(client, typed)
        assert response.status_code == 303 and logged_in(client)
        other = app.test_client()
        login(other, user.username)
        assert post_code(other, codes[0]).status_code == 401
        assert not logged_in(other)
        assert post_code(other, codes[1]).status_code == 303
    [used, _second] = events("auth.recovery_code_used", user.username)
    assert used.changes == {"recovery_codes_left": [10, 9]}
    assert codes[0] not in json.dumps(used.changes)
    assert events("auth.login", user.username)[0].changes == {"factor": [None, "recovery_code"]}
    [refused] = events("auth.mfa_failed", user.username)
    assert refused.changes == {"factor": [None, "recovery_code"]}


def test_new_recovery_codes_replace_the_old_ones(make_user):
    user = make_user(Role.POLICE)
    with_app(user)
    old = mfa.generate_recovery_codes(user)
    new = mfa.generate_recovery_codes(user)
    assert not mfa.use_recovery_code(user, old[0])
    assert mfa.use_recovery_code(user, new[0])
    assert not mfa.use_recovery_code(user, new[0])
    assert events("user.mfa_recovery_codes", user.username)[-1].changes == {
        "recovery_codes_left": [10, 10]
    }


# --- the throttle ------------------------------------------------------------------------------


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_codes_are_throttled_like_wrong_passwords(make_user, app):
    user = make_user(Role.POLICE)
    secret = with_app(user)
    attacker = from_address(app, "198.51.100.66")
    moment = T0 + STEP * 2
    with at(moment):
        login(attacker, user.username)
        for _ in range(5):
            assert post_code(attacker, "000001").status_code == 401
        # Even the right code now waits (and the wait is audited, not counted).
        refused = post_code(attacker, code_at(secret, moment))
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        assert "Vui lòng đợi 1 phút" in page_text(refused)
        assert not logged_in(attacker)
        # So does the password step from that address.
        assert login(attacker, user.username).status_code == 429
        # The owner, from another address, is not kept out.
        owner = from_address(app, "203.0.113.10")
        login(owner, user.username)
        assert post_code(owner, code_at(secret, moment)).status_code == 303
    assert len(events("auth.mfa_failed", user.username)) == 5
    assert len(events("auth.login_throttled", user.username)) == 2


def test_wrong_codes_from_many_addresses_are_limited_per_account(make_user, app):
    """Someone who has the password cannot guess codes from many addresses:
    MFA_MAX_FAILURES (10) wrong codes of the account, any addresses, then it waits."""
    user = make_user(Role.POLICE)
    secret = with_app(user)
    assert app.config["MFA_MAX_FAILURES"] == 10
    moment = T0 + STEP * 2
    with at(moment):
        for n in range(10):
            client = from_address(app, f"198.51.100.{n + 1}")
            login(client, user.username)
            assert post_code(client, "000001").status_code == 401
        client = from_address(app, "198.51.100.200")
        assert login(client, user.username).status_code == 303  # the password step: no
        refused = post_code(client, code_at(secret, moment))
        assert refused.status_code == 429 and not logged_in(client)
    later = moment + timedelta(minutes=1, seconds=1)
    with at(later):
        assert post_code(client, code_at(secret, later)).status_code == 303


# --- passkeys, with a software authenticator ---------------------------------------------------


class SoftAuthenticator:
    """What a platform authenticator answers (attestation "none", ES256), enough for the
    server's checks: client data, RP id hash, flags, counter, signature."""

    def __init__(self, origin: str = "http://localhost", rp_id: str = "localhost") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.counter = 0
        self.origin = origin
        self.rp_id_hash = hashlib.sha256(rp_id.encode()).digest()

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _client_data(self, kind: str, challenge: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict) -> str:
        data = (
            self.rp_id_hash
            + bytes([0x45])
            + self.counter.to_bytes(4, "big")
            + bytes(16)
            + len(self.credential_id).to_bytes(2, "big")
            + self.credential_id
            + self._cose_key()
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": data})
        b64 = bytes_to_base64url
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(
                        self._client_data("webauthn.create", options["challenge"])
                    ),
                    "attestationObject": b64(attestation),
                    "transports": ["internal"],
                },
            }
        )

    def get(self, options: dict, counter: int | None = None) -> str:
        self.counter = self.counter + 1 if counter is None else counter
        data = self.rp_id_hash + bytes([0x05]) + self.counter.to_bytes(4, "big")
        client_data = self._client_data("webauthn.get", options["challenge"])
        signature = self.key.sign(
            data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        b64 = bytes_to_base64url
        return json.dumps(
            {
                "id": b64(self.credential_id),
                "rawId": b64(self.credential_id),
                "type": "public-key",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64(client_data),
                    "authenticatorData": b64(data),
                    "signature": b64(signature),
                },
            }
        )


def _options(client, url: str, page: str, **fields) -> dict:
    response = client.post(
        url,
        data={"csrf_token": csrf_token(client, page), **fields},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_enrolment_with_a_passkey_then_sign_in_with_it(client, make_user, app):
    user = make_user(Role.HEALTH_AUTHORITY, HANOI)
    require(Role.HEALTH_AUTHORITY)
    authenticator = SoftAuthenticator()
    login(client, user.username)
    options = _options(
        client, "/login/enrol/passkey/options", "/login/enrol", name="Máy tính văn phòng"
    )
    assert options["rp"]["id"] == "localhost"
    assert options["user"]["name"] == user.username
    assert user.username.encode() not in json.dumps(options["user"]["id"]).encode()
    done = client.post(
        "/login/enrol/passkey",
        data={
            "csrf_token": csrf_token(client, "/login/enrol"),
            "credential": authenticator.create(options),
        },
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    assert len(CODES_RE.findall(done.get_data(as_text=True))) == 10
    assert logged_in(client)
    [passkey] = db.session.scalars(sa.select(Passkey).where(Passkey.user_id == user.id))
    assert passkey.name == "Máy tính văn phòng" and passkey.transports == "internal"
    [added] = events("user.mfa_passkey_add", user.username)
    assert added.changes == {"passkey": [None, "Máy tính văn phòng"]}

    # The next sign-in asks for it.
    browser = app.test_client()
    assert login(browser, user.username).headers["Location"] == "/login/second-factor"
    assert 'data-passkey="get"' in browser.get("/login/second-factor").get_data(as_text=True)
    options = _options(browser, "/login/second-factor/passkey/options", "/login/second-factor")
    assert [c["id"] for c in options["allowCredentials"]] == [
        bytes_to_base64url(authenticator.credential_id)
    ]
    answer = authenticator.get(options)
    ok = browser.post(
        "/login/second-factor/passkey",
        data={"csrf_token": csrf_token(browser, "/login/second-factor"), "credential": answer},
    )
    assert ok.status_code == 303 and ok.headers["Location"] == "/dashboard"
    assert logged_in(browser)
    db.session.expire_all()
    assert db.session.get(Passkey, passkey.id).sign_count == 1
    assert events("auth.login", user.username)[-1].changes == {"factor": [None, "passkey"]}

    # The same answer again (a replay) has no challenge to match: refused.
    replay = app.test_client()
    login(replay, user.username)
    _options(replay, "/login/second-factor/passkey/options", "/login/second-factor")
    refused = replay.post(
        "/login/second-factor/passkey",
        data={"csrf_token": csrf_token(replay, "/login/second-factor"), "credential": answer},
    )
    assert refused.status_code == 401 and not logged_in(replay)
    assert "Khóa truy cập không được chấp nhận" in page_text(refused)
    # A counter that goes back (a cloned key) is refused too, and so is garbage.
    options = _options(replay, "/login/second-factor/passkey/options", "/login/second-factor")
    cloned = replay.post(
        "/login/second-factor/passkey",
        data={
            "csrf_token": csrf_token(replay, "/login/second-factor"),
            "credential": authenticator.get(options, counter=1),
        },
    )
    assert cloned.status_code == 401
    _options(replay, "/login/second-factor/passkey/options", "/login/second-factor")
    garbage = replay.post(
        "/login/second-factor/passkey",
        data={
            "csrf_token": csrf_token(replay, "/login/second-factor"),
            "credential": '{"rawId": 1}',
        },
    )
    assert garbage.status_code == 401
    assert [e.changes for e in events("auth.mfa_failed", user.username)] == [
        {"factor": [None, "passkey"]}
    ] * 3


def test_a_passkey_from_another_origin_is_refused(client, make_user):
    user = make_user(Role.HEALTH_AUTHORITY, HANOI)
    require(Role.HEALTH_AUTHORITY)
    login(client, user.username)
    options = _options(client, "/login/enrol/passkey/options", "/login/enrol")
    phished = SoftAuthenticator(origin="http://localhost.evil.example")
    refused = client.post(
        "/login/enrol/passkey",
        data={
            "csrf_token": csrf_token(client, "/login/enrol"),
            "credential": phished.create(options),
        },
    )
    assert refused.status_code == 422 and not logged_in(client)
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
        )
        == 0
    )


# --- the user's security page -----------------------------------------------------------------


def confirm_password(client, password: str = PASSWORD):
    return client.post(
        "/account/security/confirm",
        data={"password": password, "csrf_token": csrf_token(client, "/account/security")},
    )


def test_the_security_page_asks_the_password_before_any_change(client, login_as):
    user = login_as(Role.POLICE)
    page = client.get("/account/security")
    assert page.status_code == 200
    assert '/account/security/app"' not in page.get_data(as_text=True)
    token = csrf_token(client, "/account/security")
    refused = client.post("/account/security/recovery-codes", data={"csrf_token": token})
    assert refused.status_code == 303 and refused.headers["Location"] == "/account/security"
    wrong = confirm_password(client, "khong-phai-mat-khau")
    assert wrong.status_code == 401
    [event] = events("auth.reauth_failed", user.username)
    assert event.actor_id == user.id
    assert confirm_password(client).status_code == 303
    with at(datetime.now(UTC)):
        start = client.post("/account/security/app", data={"csrf_token": token})
        assert start.headers["Location"] == "/account/security/app"
        setup = client.get("/account/security/app")
        secret = SECRET_RE.search(setup.get_data(as_text=True)).group(1).replace(" ", "")
        done = client.post(
            "/account/security/app/confirm",
            data={"code": pyotp.TOTP(secret).now(), "csrf_token": token},
        )
    assert done.status_code == 200 and len(CODES_RE.findall(done.get_data(as_text=True))) == 10
    assert mfa.factors_of(user).totp is not None
    # More codes: the old ones stop working.
    again = client.post("/account/security/recovery-codes", data={"csrf_token": token})
    assert again.status_code == 200 and len(CODES_RE.findall(again.get_data(as_text=True))) == 10
    # Not required for the role: the app may be removed, and the codes go with it.
    assert (
        client.post("/account/security/app/remove", data={"csrf_token": token}).status_code == 303
    )
    factors = mfa.factors_of(user)
    assert not factors.any and factors.recovery_left == 0
    assert [e.action for e in events("user.mfa_totp_remove", user.username)] == [
        "user.mfa_totp_remove"
    ]


def test_the_last_factor_cannot_be_removed_while_the_role_requires_one(client, login_as):
    user = login_as(Role.COMMITTEE)
    with_app(user, datetime.now(UTC) - STEP * 4)
    require(Role.COMMITTEE)
    confirm_password(client)
    token = csrf_token(client, "/account/security")
    response = client.post("/account/security/app/remove", data={"csrf_token": token})
    assert response.status_code == 303
    assert mfa.factors_of(user).totp is not None
    assert "bắt buộc" in page_text(client.get("/account/security"))


def test_wrong_passwords_on_the_security_page_are_throttled(client, login_as):
    login_as(Role.POLICE)
    for _ in range(5):
        assert confirm_password(client, "sai-mat-khau").status_code == 401
    assert confirm_password(client).status_code == 429


def test_a_passkey_added_on_the_security_page_then_removed(client, login_as):
    user = login_as(Role.POLICE)
    with_app(user, datetime.now(UTC) - STEP * 4)
    refused = client.post(
        "/account/security/passkeys/options",
        headers={"Accept": "application/json"},
        data={"csrf_token": csrf_token(client, "/account/security")},
    )
    assert refused.status_code == 403 and "mật khẩu" in refused.get_json()["error"]
    confirm_password(client)
    authenticator = SoftAuthenticator()
    options = _options(
        client, "/account/security/passkeys/options", "/account/security", name="Khóa USB"
    )
    # The app is there already: the passkey is excluded from nothing, added, no new codes.
    added = client.post(
        "/account/security/passkeys",
        data={
            "csrf_token": csrf_token(client, "/account/security"),
            "credential": authenticator.create(options),
        },
    )
    assert added.status_code == 303
    [passkey] = mfa.factors_of(user).passkeys
    assert passkey.name == "Khóa USB"
    assert "Khóa USB" in page_text(client.get("/account/security"))
    removed = client.post(
        f"/account/security/passkeys/{passkey.id}/remove",
        data={"csrf_token": csrf_token(client, "/account/security")},
    )
    assert removed.status_code == 303 and mfa.factors_of(user).passkeys == []
    assert [e.changes for e in events("user.mfa_passkey_remove", user.username)] == [
        {"passkey": ["Khóa USB", None]}
    ]


def test_the_passkey_options_need_a_pending_sign_in(client):
    response = client.post(
        "/login/second-factor/passkey/options",
        headers={"Accept": "application/json"},
        data={"csrf_token": csrf_token(client)},
    )
    assert response.status_code == 401
    assert response.get_json()["redirect"] == "/login"


def test_another_users_passkey_is_not_found(client, login_as, make_user):
    login_as(Role.POLICE)
    other = make_user(Role.POLICE)
    passkey = Passkey(
        user_id=other.id, credential_id=os.urandom(16), public_key=b"x", sign_count=0, name="khóa"
    )
    db.session.add(passkey)
    db.session.commit()
    confirm_password(client)
    response = client.post(
        f"/account/security/passkeys/{passkey.id}/remove",
        data={"csrf_token": csrf_token(client, "/account/security")},
    )
    assert response.status_code == 404


# --- administrators ----------------------------------------------------------------------------


def test_an_administrator_requires_a_factor_per_role_of_the_province(
    client, login_as, app, make_user
):
    admin = login_as(Role.ADMIN, HANOI)
    page = client.get("/admin/accounts/second-factors")
    assert page.status_code == 200
    assert 'value="health_station"' not in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/accounts/second-factors")
    response = client.post(
        "/admin/accounts/second-factors",
        data={"csrf_token": token, "role": ["committee", "police"]},
    )
    assert response.status_code == 303
    hanoi = db.session.scalar(sa.select(Area).where(Area.code == HANOI))
    assert mfa.required_roles(hanoi.id) == {Role.COMMITTEE, Role.POLICE}
    cao_bang = db.session.scalar(sa.select(Area).where(Area.code == CAO_BANG))
    assert mfa.required_roles(cao_bang.id) == set()
    [event] = events("auth.mfa_policy")
    assert event.entity_type == "area" and event.entity_id == HANOI
    assert event.actor_id == admin.id
    assert event.changes == {"required_roles": [[], ["committee", "police"]]}
    client.post("/admin/accounts/second-factors", data={"csrf_token": token, "role": ["police"]})
    assert events("auth.mfa_policy")[-1].changes == {
        "required_roles": [["committee", "police"], ["police"]]
    }
    # The trail says it in words.
    trail = page_text(client.get("/audit"))
    assert "Công an xã/phường" in trail
    # Unknown or ineligible roles are refused; other roles may not see or change it.
    assert (
        client.post(
            "/admin/accounts/second-factors", data={"csrf_token": token, "role": "health_station"}
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/admin/accounts/second-factors", data={"csrf_token": token, "role": "emperor"}
        ).status_code
        == 400
    )
    authority = app.test_client()
    login(authority, make_user(Role.HEALTH_AUTHORITY, HANOI).username)
    assert authority.get("/admin/accounts/second-factors").status_code == 403


def test_an_administrator_resets_a_users_factors(client, login_as, make_user, app):
    user = make_user(Role.POLICE)
    session_client = app.test_client()
    login(session_client, user.username)
    assert logged_in(session_client)
    with_app(user, datetime.now(UTC) - STEP * 4)
    mfa.generate_recovery_codes(user)
    db.session.commit()
    admin = login_as(Role.ADMIN, HANOI)
    account_page = page_text(client.get(f"/admin/accounts/{user.id}"))
    assert "Đặt lại yếu tố xác thực thứ hai" in account_page
    token = csrf_token(client, f"/admin/accounts/{user.id}")
    response = client.post(
        f"/admin/accounts/{user.id}/second-factors/reset", data={"csrf_token": token}
    )
    assert response.status_code == 303
    factors = mfa.factors_of(user)
    assert not factors.any and factors.recovery_left == 0
    [event] = events("user.mfa_reset", user.username)
    assert event.actor_id == admin.id
    assert event.changes == {"authenticator_app": ["set_up", None], "recovery_codes_left": [10, 0]}
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        )
        == 0
    )
    assert not logged_in(session_client)
    # Another province's account: 404, like every account outside the province.
    stranger = make_user(Role.POLICE, OTHER_PROVINCE)
    assert (
        client.post(
            f"/admin/accounts/{stranger.id}/second-factors/reset", data={"csrf_token": token}
        ).status_code
        == 404
    )


def test_the_command_line_requires_and_resets(app, make_user):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["users", "mfa-require", "--province", HANOI, "--role", "admin", "--role", "police"]
    )
    assert result.exit_code == 0, result.output
    hanoi = db.session.scalar(sa.select(Area).where(Area.code == HANOI))
    assert mfa.required_roles(hanoi.id) == {Role.ADMIN, Role.POLICE}
    result = runner.invoke(
        args=["users", "mfa-require", "--province", HANOI, "--role", "police", "--off"]
    )
    assert result.exit_code == 0 and mfa.required_roles(hanoi.id) == {Role.ADMIN}
    assert (
        runner.invoke(args=["users", "mfa-require", "--province", OWN, "--role", "admin"]).exit_code
        == 1
    )
    user = make_user(Role.POLICE)
    with_app(user, datetime.now(UTC))
    result = runner.invoke(args=["users", "mfa-reset", user.username])
    assert result.exit_code == 0, result.output
    assert not mfa.has_factor(user)
    assert events("user.mfa_reset", user.username)[0].actor_id is None


def test_mfa_is_off_unless_an_administrator_turns_it_on():
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MfaRequirement)) == 0
