"""The message catalogue is found once per request and locale (portal/core/translations.py),
and a page still speaks the language of its request."""

from __future__ import annotations

import jinja2
from flask import session
from flask_babel import Domain, force_locale, get_translations, gettext, refresh

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


def test_templates_translate_escape_and_format_as_jinja_s_new_style(app):
    """The templates' own ``_()`` (portal.core.translations.template_gettext) gives what
    Jinja's new-style gettext gives: translated, escaped where autoescaping is on, always
    formatted (``%%`` is ``%``), its variables escaped."""
    cases = {
        "{{ _('Log out') }}": "Đăng xuất",
        "{{ _('100%% done') }}": "100% done",
        "{{ _('Hello %(name)s', name='<b>') }}": "Hello &lt;b&gt;",
        "{% autoescape false %}{{ _('Hello %(name)s', name='<b>') }}{% endautoescape %}": (
            "Hello <b>"
        ),
        "{{ gettext('Log out') }}": "Đăng xuất",
        "{% trans %}Log out{% endtrans %}": "Đăng xuất",
        "{% trans n='<i>' %}{{ n }} of 100%{% endtrans %}": "&lt;i&gt; of 100%",
    }
    stock = jinja2.Environment(autoescape=True, extensions=["jinja2.ext.i18n"])
    with app.test_request_context("/"):
        stock.install_gettext_translations(get_translations(), newstyle=True)
        for source, expected in cases.items():
            assert app.jinja_env.from_string(source).render() == expected, source
            assert stock.from_string(source).render() == expected, source
        with force_locale("en"):
            assert app.jinja_env.from_string("{{ _('Log out') }}").render() == "Log out"
