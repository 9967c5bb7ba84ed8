"""The message catalogue is found once per request and locale (portal/core/translations.py),
and a page still speaks the language of its request."""

from __future__ import annotations

from flask import session
from flask_babel import Domain, force_locale, gettext, refresh

from tests.conftest import csrf_token


def test_a_request_finds_its_catalogue_once(app, monkeypatch):
    found = []
    original = Domain.get_translations

    def counting(self):
        found.append(1)
        return original(self)

    monkeypatch.setattr(Domain, "get_translations", counting)
    with app.test_request_context("/"):
        texts = {gettext("Log out") for _ in range(20)}
        rendered = app.jinja_env.from_string(
            "{% for i in range(20) %}{{ _('Log out') }}{% endfor %}"
        ).render()
    assert texts == {"Đăng xuất"} and rendered == "Đăng xuất" * 20
    assert len(found) == 1, "one look-up for the request, not one per string"


def test_a_forced_or_refreshed_locale_gets_its_own_catalogue(app):
    with app.test_request_context("/"):
        assert gettext("Log out") == "Đăng xuất"
        with force_locale("en"):
            assert gettext("Log out") == "Log out"
        assert gettext("Log out") == "Đăng xuất"
        session["lang"] = "en"
        refresh()
        assert gettext("Log out") == "Log out"


def test_each_request_speaks_its_own_language(client):
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    client.post(
        "/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)}
    )
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page and "Đăng nhập" not in page
    other = client.application.test_client()
    assert "Đăng nhập" in other.get("/login").get_data(as_text=True)
