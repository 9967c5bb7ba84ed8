"""Issue 13, item 10: a request without a valid session ends on the login page as a whole
page, never as a fragment of the login page swapped into the current one."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from flask_babel import force_locale, gettext

from portal.extensions import db
from tests.conftest import csrf_token, login

BASE = "http://localhost"


def htmx(target: str, page: str) -> dict:
    return {"HX-Request": "true", "HX-Target": target, "HX-Current-URL": BASE + page}


def next_of(location: str) -> str | None:
    parts = urlsplit(location)
    assert parts.path == "/login", location
    return parse_qs(parts.query).get("next", [None])[0]


def vi(message: str) -> str:
    with force_locale("vi"):
        return gettext(message)


def assert_sent_to_login(response, page: str | None) -> None:
    """HX-Redirect to /login with the page (not the fragment) as next, and no login form."""
    assert response.status_code == 401
    assert next_of(response.headers["HX-Redirect"]) == page
    assert response.headers["X-Session-Ended"] == "1"
    assert "HX-Request" in response.headers["Vary"]
    body = response.get_data(as_text=True)
    assert "password" not in body and "<form" not in body


def test_active_search_after_deactivation_sends_the_page_to_login(client, make_user):
    """Issue 13, item 10: the records list's active search after the account is
    deactivated gets HX-Redirect to the login page, next = the page the user was on."""
    user = make_user()
    assert login(client, user.username).status_code == 303
    user.active = False
    db.session.commit()
    response = client.get("/records?q=nguyen+van", headers=htmx("results", "/records?q=ngu"))
    assert_sent_to_login(response, "/records?q=ngu")
    # The login page, loaded as a page, says why.
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert vi("Please log in to continue.") in page
    assert 'name="next" value="/records?q=ngu"' in page


def test_dashboard_refresh_after_logout_in_another_tab(client, make_user):
    """Issue 13, item 10: the dashboard's 30-second refresh after a logout in another tab."""
    user = make_user()
    assert login(client, user.username).status_code == 303
    token = csrf_token(client, "/records")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    response = client.get("/dashboard", headers=htmx("figures", "/dashboard"))
    assert_sent_to_login(response, "/dashboard")


def test_whole_page_without_session_is_a_plain_redirect(client):
    """Issue 13, item 10: a whole page (and a history restore, which htmx swaps as a page)
    is redirected as before, to the login page with the page itself as next."""
    response = client.get("/records?q=an")
    assert response.status_code == 302
    assert next_of(response.headers["Location"]) == "/records?q=an"
    assert "HX-Redirect" not in response.headers
    restore = client.get(
        "/records?q=an",
        headers={
            "HX-Request": "true",
            "HX-History-Restore-Request": "true",
            "HX-Current-URL": BASE + "/records?q=an",
        },
    )
    assert restore.status_code == 302
    assert next_of(restore.headers["Location"]) == "/records?q=an"


@pytest.mark.parametrize("current", ["https://evil.example/records", "javascript:alert(1)", ""])
def test_a_foreign_current_url_is_not_a_next(client, current):
    """Issue 13, item 10: next comes only from this site's own address."""
    response = client.get(
        "/dashboard",
        headers={"HX-Request": "true", "HX-Target": "figures", "HX-Current-URL": current},
    )
    assert_sent_to_login(response, None)


def test_htmx_post_after_the_session_ended_goes_to_login_not_a_csrf_error(client, make_user):
    """Issue 13, item 10: a CSRF failure on an htmx post because the session has ended
    (logged out elsewhere) sends the page to the login page with a clear message."""
    user = make_user()
    assert login(client, user.username).status_code == 303
    token = csrf_token(client, "/worklists/review")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    response = client.post(
        "/worklists/review",
        data={"note": "Đã xem CCCD"},
        headers={
            **htmx("review-results", "/worklists/review?difference=birth"),
            "X-CSRFToken": token,
        },
    )
    assert_sent_to_login(response, "/worklists/review?difference=birth")
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert vi("Your session has ended. Log in again to continue.") in page


def test_csrf_failure_with_a_live_session_keeps_the_page(client, make_user):
    """Issue 13, item 10: while the session lives, a bad token still answers in the page's
    message area (nothing typed is lost), not with a trip to the login page."""
    user = make_user()
    assert login(client, user.username).status_code == 303
    response = client.post("/logout", headers={**htmx("x", "/records"), "X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert "HX-Redirect" not in response.headers
    assert response.headers["HX-Retarget"] == "#messages"
