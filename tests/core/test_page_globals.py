"""The links and the CSRF token pages ask for: kept, and the same as Flask's and Flask-WTF's."""

from __future__ import annotations

import re

import flask
from flask_wtf.csrf import generate_csrf, validate_csrf

from portal.auth.models import Role
from portal.core import page_globals

ENDPOINTS = [
    ("static", {"filename": "css/portal.css"}),
    ("records.list_records", {}),
    ("worklists.show_decision_list", {"slug": "corrections"}),
    ("auth.post_logout", {}),
]


def test_a_kept_link_is_flask_s_link(app):
    for script_root in ("", "/portal"):
        with app.test_request_context("/", base_url="http://localhost" + script_root):
            for endpoint, values in ENDPOINTS:
                first = page_globals.url_for(endpoint, **values)
                assert first == flask.url_for(endpoint, **values)
                assert first.startswith(script_root + "/")
                assert page_globals.url_for(endpoint, **values) == first


def test_links_under_another_script_root_are_not_the_kept_ones(app):
    """A portal served under /portal and at / in the same process (two mounts) gets each
    its own links."""
    with app.test_request_context("/"):
        assert page_globals.url_for("records.list_records") == "/records"
    with app.test_request_context("/", base_url="http://localhost/portal"):
        assert page_globals.url_for("records.list_records") == "/portal/records"


def test_links_with_ids_or_several_values_are_built_each_time(app, monkeypatch):
    with app.test_request_context("/"):
        page_globals._urls.clear()
        assert page_globals.url_for("records.show_record", person_id=7) == "/records/7"
        assert page_globals.url_for("static", filename="a.css", v="2") == "/static/a.css?v=2"
        assert page_globals.url_for("static", filename="a.css", _external=True).startswith(
            "http://"
        )
        assert page_globals._urls == {}


def test_the_page_s_token_is_flask_wtf_s_and_valid(app):
    with app.test_request_context("/"):
        token = page_globals.csrf_token()
        assert token == generate_csrf() == page_globals.csrf_token()
        validate_csrf(token)  # raises when it is not


def test_the_layout_uses_the_kept_links_and_the_request_s_token(client, login_as):
    login_as(Role.POLICE)
    body = client.get("/records").get_data(as_text=True)
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', body))
    tokens |= set(re.findall(r'"X-CSRFToken": "([^"]+)"', body))
    assert len(tokens) == 1
    assert 'href="/static/css/portal.css"' in body
    assert 'href="/records"' in body
    assert client.application.jinja_env.globals["url_for"] is page_globals.url_for
    assert client.application.jinja_env.globals["csrf_token"] is page_globals.csrf_token
