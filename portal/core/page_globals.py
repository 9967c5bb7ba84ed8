"""What every page asks for several times: its links (``url_for``), kept from one request
to the next, and its CSRF token, read once a request.

The layout alone builds about twenty links (its stylesheets and scripts, the menu, the
language and logout forms) and writes the CSRF token three times: about 4 % of the record
list's CPU, which is otherwise one query and a table.

- A link to an endpoint with no value, or with one text value (a static file's name, a
  menu entry's slug), depends on nothing else but the script root the portal is served
  under: it is kept per script root. Links with other values (ids, filters, cursors) are
  built each time, as Flask builds them.
- The CSRF token, signed once per request by Flask-WTF, is read from where it keeps it
  (``g``) without its configuration look-ups. It is not kept across requests: a token that
  stays the same from page to page, on pages that echo what was searched, is what a
  compression side channel (BREACH) needs.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask import url_for as flask_url_for
from flask.globals import _cv_app, _cv_request  # the context variables behind the proxies
from flask_wtf.csrf import generate_csrf

KEPT_MAX = 2048  # links kept, beyond which they are forgotten and kept anew

_urls: dict[tuple[Any, ...], str] = {}


def url_for(endpoint: str, **values: Any) -> str:
    """Flask's ``url_for``, kept for an endpoint with at most one text value."""
    if len(values) > 1 or endpoint.startswith("."):
        return flask_url_for(endpoint, **values)
    item = next(iter(values.items()), None)
    if item is not None and (item[0].startswith("_") or type(item[1]) is not str):
        return flask_url_for(endpoint, **values)
    context = _cv_request.get(None)
    if context is None:
        return flask_url_for(endpoint, **values)
    key = (context.request.script_root, endpoint, item)
    url = _urls.get(key)
    if url is None:
        url = flask_url_for(endpoint, **values)
        if len(_urls) >= KEPT_MAX:
            _urls.clear()
        _urls[key] = url
    return url


def csrf_token() -> str:
    """The request's CSRF token (Flask-WTF's ``generate_csrf``), read straight from ``g``
    once the request has one."""
    context = _cv_app.get(None)
    if context is not None:
        kept = context.g.__dict__.get(current_app.config["WTF_CSRF_FIELD_NAME"])
        if kept is not None:
            return kept
    return generate_csrf()
