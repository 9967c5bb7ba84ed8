"""Flask-Babel's message domain, its catalogue found once per request rather than per string.

Flask-Babel looks the catalogue up again for every string it translates: the context
namespace on ``g`` (several ``LocalProxy`` look-ups), the locale, its name, the cache of
catalogues. On the record list (about 150 strings, labels included) that was a fifth of the
request's CPU. The catalogue depends on the locale only, and Flask-Babel keeps the locale
of the request on that same namespace (``babel_locale``; ``force_locale`` and ``refresh``
replace it), so the catalogue is kept beside it, tied to that very locale object: a new
locale, forced or refreshed, looks its catalogue up again.

The kept catalogue is read straight from the application context's variable (Flask's
``_cv_app``, what the ``g`` proxy itself reads), not through the proxies: templates'
``_()`` and the label tables (``core.labels.translated``) go through ``current_translations``.
"""

from __future__ import annotations

from typing import Any

import flask_babel
from flask import Flask
from flask.globals import _cv_app  # the context variable behind `g` (Flask 3)
from flask_babel import Babel, Domain
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

KEPT = "portal_translations"


def _kept(namespace: Any) -> Any:
    """The catalogue kept on Flask-Babel's namespace for its current locale, or None."""
    if namespace is None:
        return None
    values = namespace.__dict__
    kept = values.get(KEPT)
    if kept is not None and kept[0] is values.get("babel_locale") is not None:
        return kept[1]
    return None


def _namespace() -> Any:
    context = _cv_app.get(None)
    return None if context is None else context.g.__dict__.get("_flask_babel")


def kept_translations() -> Any:
    """The catalogue kept for the request's locale; None before the request's first
    string, and outside a request or command."""
    return _kept(_namespace())


def current_translations() -> Any:
    """The request's catalogue: the kept one when there is one, else Flask-Babel's."""
    return _kept(_namespace()) or flask_babel.get_translations()


class RequestDomain(Domain):
    def get_translations(self):
        kept = _kept(_namespace())
        if kept is not None:
            return kept
        translations = super().get_translations()
        namespace = _namespace()  # super() made it, if there is an application context
        locale = namespace.__dict__.get("babel_locale") if namespace is not None else None
        if locale is not None:
            setattr(namespace, KEPT, (locale, translations))
        return translations


@pass_context
def template_gettext(context: Context, string: str, **variables: Any) -> str:
    """Jinja's new-style ``_()``/``gettext`` (escaped, then always formatted: ``%%`` is
    ``%``), less what a string without ``%`` does not need: Jinja's ``_`` resolves
    ``gettext`` and calls it through the context, and formats every string, each costing
    more than finding its words."""
    text = current_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    if not variables and "%" not in text:
        return text
    return text % variables


class PortalBabel(Babel):
    """Flask-Babel whose template functions (``_``, ``ngettext``…) read the kept catalogue
    directly: Flask-Babel's own go through ``get_domain()`` and its proxies for each
    string, about 26 times on the record list."""

    def init_app(self, app: Flask, *args: Any, **kwargs: Any) -> None:
        super().init_app(app, *args, **kwargs)
        # Added to the environment by Jinja's i18n extension, which Flask-Babel loaded.
        app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
            gettext=lambda s: current_translations().ugettext(s),
            ngettext=lambda s, p, n: current_translations().ungettext(s, p, n),
            newstyle=True,
            pgettext=lambda c, s: current_translations().upgettext(c, s),
            npgettext=lambda c, s, p, n: current_translations().unpgettext(c, s, p, n),
        )
        app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)
