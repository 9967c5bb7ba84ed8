"""Logging in and out: audit events, throttling, server-side sessions, CSRF, cookies,
redirects after login and the language switch."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa
from flask_babel import force_locale, gettext

from portal import create_app
from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from tests.conftest import PASSWORD, csrf_token, login

COOKIE = "portal_session"


def vi(message: str) -> str:
    with force_locale("vi"):
        text = gettext(message)
    assert text != message, f"not translated: {message}"
    return text


def events(action: str, entity_id: str | None = None) -> list[AuditEvent]:
    db.session.expire_all()
    query = sa.select(AuditEvent).where(AuditEvent.action == action)
    if entity_id is not None:
        query = query.where(AuditEvent.entity_id == entity_id)
    return list(db.session.scalars(query.order_by(AuditEvent.seq)))


def logged_in(client) -> bool:
    response = client.get("/records")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    return False


# --- logging in -------------------------------------------------------------------------


def test_login_success(client, make_user):
    user = make_user(display_name="Trần Thị Cán Bộ")
    assert not logged_in(client)
    response = login(client, user.username)
    assert response.status_code == 303
    assert response.headers["Location"] == "/records"
    [event] = events("auth.login", user.username)
    assert event.actor_id == user.id
    assert event.actor_role == "health_station"
    page = client.get("/records")
    assert page.status_code == 200
    assert "Trần Thị Cán Bộ" in page.get_data(as_text=True)
    # Already logged in: the login page sends the user on.
    again = client.get("/login")
    assert again.status_code == 302
    assert again.headers["Location"] == "/records"


@pytest.mark.parametrize(
    ("role", "area_code", "landing"),
    [
        (Role.HEALTH_AUTHORITY, "01", "/dashboard"),
        (Role.ADMIN, "01", "/dashboard"),
        (Role.POLICE, "00004", "/records"),
        (Role.VACCINATION_SITE, "00004", "/records"),
    ],
)
def test_each_role_starts_its_day_where_its_work_is(client, make_user, role, area_code, landing):
    """A health authority or administrator watches an area: logging in without a page
    asked for lands on its dashboard, not on a province's records (seen walking the
    authority's day); the others land on their records."""
    user = make_user(role, area_code)
    assert login(client, user.username).headers["Location"] == landing
    assert client.get("/").headers["Location"] == landing


def test_login_username_is_case_and_space_insensitive(client, make_user):
    user = make_user(username="police.ba_dinh")
    assert login(client, "  Police.Ba_Dinh ").status_code == 303
    assert events("auth.login", user.username)


@pytest.mark.parametrize("who", ["wrong-password", "unknown-user"])
def test_failed_login(client, make_user, who):
    user = make_user(username="health.ngoc_ha")
    username = user.username if who == "wrong-password" else "khong.ton.tai"
    response = login(client, username, "mat-khau-sai-123")
    body = response.get_data(as_text=True)
    assert response.status_code == 401
    assert '<form method="post" action="/login"' in body
    assert f'value="{username}"' in body  # the username is kept
    assert "mat-khau-sai-123" not in body  # the password is not
    assert vi("Wrong username or password.") in html.unescape(body)
    assert len(events("auth.login_failed", username)) == 1
    assert not events("auth.login", username)
    assert not logged_in(client)


def test_throttling_after_max_failures(app, client, make_user):
    """Changed for issue 14, item 6: a success now clears the (account, address) pair, so
    the limit counts the failures since the last success (it used to count the failures
    before it too), and the message says how long to wait (1 minute, not 15)."""
    user = make_user()
    other = make_user()
    limit = app.config["LOGIN_MAX_FAILURES"]
    assert limit == 5
    for _ in range(limit - 1):
        assert login(client, user.username, "sai").status_code == 401
    # One failure short of the limit the right password still works ...
    assert login(client, user.username).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/records")})
    assert not logged_in(client)
    # ... and clears the count; the limit's worth of failures, and even the right
    # password is refused.
    for _ in range(limit):
        assert login(client, user.username, "sai").status_code == 401
    response = login(client, user.username)
    assert response.status_code == 429
    assert vi("Too many failed attempts. Please wait %(num)s minute and try again.") % {
        "num": 1
    } in html.unescape(response.get_data(as_text=True))
    assert response.headers["Retry-After"] == "60"
    assert not logged_in(client)
    assert len(events("auth.login_throttled", user.username)) == 1
    assert len(events("auth.login", user.username)) == 1  # only the earlier one
    # The throttle is per account and address (and only loosely per address): others
    # still log in from the same address.
    assert login(client, other.username).status_code == 303


def test_throttling_counts_the_normalised_username(client, make_user):
    user = make_user(username="committee.giang_vo")
    for variant in (
        "Committee.Giang_Vo",
        "COMMITTEE.GIANG_VO",
        " committee.giang_vo",
        "committee.giang_vo",
        "Committee.giang_vo",
    ):
        assert login(client, variant, "sai").status_code == 401
    assert login(client, user.username).status_code == 429


def test_inactive_user_cannot_log_in(client, make_user):
    user = make_user()
    user.active = False
    db.session.commit()
    response = login(client, user.username)
    assert response.status_code == 401
    assert len(events("auth.login_failed", user.username)) == 1
    assert not logged_in(client)


def test_deactivated_user_loses_the_open_session(client, make_user):
    user = make_user()
    assert login(client, user.username).status_code == 303
    assert logged_in(client)
    user.active = False
    db.session.commit()
    assert not logged_in(client)


# --- logging out ------------------------------------------------------------------------


def test_logout_ends_the_server_side_session(app, client, make_user):
    user = make_user()
    assert login(client, user.username).status_code == 303
    stolen = client.get_cookie(COOKIE).value

    # While the session lives, the copied cookie works in another browser ...
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    assert thief.get("/records").status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/records")})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert len(events("auth.logout", user.username)) == 1
    assert not logged_in(client)

    # ... and after the logout it does not.
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen)
    response = thief.get("/records")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_logout_needs_post(client, make_user):
    user = make_user()
    login(client, user.username)
    assert client.get("/logout").status_code == 405
    assert logged_in(client)


# --- CSRF -------------------------------------------------------------------------------


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    client.get("/login")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert not events("auth.login", user.username)
    assert not events("auth.login_failed", user.username)
    assert not logged_in(client)


def test_login_with_a_forged_csrf_token_is_refused(client, make_user):
    user = make_user()
    client.get("/login")
    response = client.post(
        "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert not logged_in(client)


def test_htmx_post_needs_the_csrf_header(client, make_user):
    user = make_user()
    assert login(client, user.username).status_code == 303
    token = csrf_token(client, "/records")
    htmx = {"HX-Request": "true"}

    refused = client.post("/logout", headers=htmx)
    assert refused.status_code == 400
    assert logged_in(client)
    assert not events("auth.logout", user.username)

    wrong = client.post("/logout", headers={**htmx, "X-CSRFToken": "forged"})
    assert wrong.status_code == 400
    assert logged_in(client)

    accepted = client.post("/logout", headers={**htmx, "X-CSRFToken": token})
    assert accepted.status_code == 303
    assert not logged_in(client)
    assert len(events("auth.logout", user.username)) == 1


# --- cookies ----------------------------------------------------------------------------


def test_session_cookie_flags_in_testing(client, make_user):
    user = make_user()
    response = login(client, user.username)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_flags_in_production(app):
    production = create_app(
        {
            "PORTAL_ENV": "production",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "production-test-secret",
        }
    )
    try:
        assert production.config["SESSION_COOKIE_SECURE"] is True
        assert production.config["SESSION_COOKIE_HTTPONLY"] is True
        assert production.config["SESSION_COOKIE_SAMESITE"] == "Lax"
        assert production.config["SESSION_COOKIE_NAME"] == COOKIE
        # The login page puts the CSRF token in the session, so it sets the cookie.
        response = production.test_client().get("/login")
        assert response.status_code == 200
        cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(COOKIE))
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    finally:
        with production.app_context():
            db.engine.dispose()
    assert app.config["SESSION_COOKIE_SECURE"] is False  # testing: plain HTTP allowed


# --- where the login leads --------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\\/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "records",
        "/records\r\nSet-Cookie: x=y",
    ],
)
def test_login_ignores_foreign_next(client, make_user, target):
    user = make_user()
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": token, "next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/records"


def test_login_follows_local_next(client, make_user):
    user = make_user()
    page = client.get("/login?next=/records?status=missing_id").get_data(as_text=True)
    assert 'name="next" value="/records?status=missing_id"' in page
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/records?status=missing_id",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/records?status=missing_id"


def test_protected_page_sends_to_login_with_next(client):
    response = client.get("/records?q=an")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# --- language ---------------------------------------------------------------------------


def test_language_switch(client, make_user):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi"' in page
    assert vi("Log in") in page

    token = csrf_token(client)
    response = client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/login"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en"' in page
    assert ">Log in</h1>" in page

    # An unknown language changes nothing; the choice survives logging in and out.
    client.post("/language", data={"lang": "fr", "csrf_token": token})
    assert '<html lang="en"' in client.get("/login").get_data(as_text=True)
    user = make_user()
    login(client, user.username)
    assert '<html lang="en"' in client.get("/records").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/records")})
    assert '<html lang="en"' in client.get("/login").get_data(as_text=True)

    client.post("/language", data={"lang": "vi", "csrf_token": csrf_token(client)})
    assert '<html lang="vi"' in client.get("/login").get_data(as_text=True)


def test_language_switch_needs_csrf(client):
    response = client.post("/language", data={"lang": "en"})
    assert response.status_code == 400
    assert '<html lang="vi"' in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_language_switch_ignores_foreign_next(client, target):
    response = client.post(
        "/language", data={"lang": "en", "csrf_token": csrf_token(client), "next": target}
    )
    assert response.status_code == 303
    assert "evil" not in response.headers["Location"]


# --- health -----------------------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_unknown_username_costs_the_same_argon2_work_as_a_known_one(client, make_user, monkeypatch):
    """Issue 14, item 7: an unknown username cost two Argon2 hashes (the dummy hash was
    recomputed on every attempt), a known one a single verification; equal work now."""
    from argon2 import PasswordHasher

    from portal.auth import passwords

    calls: list[str] = []
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counting_hash(self, *args, **kwargs):
        calls.append("hash")
        return real_hash(self, *args, **kwargs)

    def counting_verify(self, *args, **kwargs):
        calls.append("verify")
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counting_hash)
    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", {})  # as in a fresh process
    user = make_user(Role.POLICE, "00004")

    def cost(username: str, password: str = "mat-khau-sai-123") -> list[str]:
        calls.clear()
        login(client, username, password)
        return list(calls)

    cost("khong-co-ai")  # the process's one dummy hash
    unknown = [cost(f"khong-co-ai-{n}") for n in range(3)]
    known = [cost(user.username) for _ in range(3)]
    assert unknown == known == [["verify"]] * 3
    assert cost(user.username, PASSWORD) == ["verify"]
