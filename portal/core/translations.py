"""Flask-Babel's message domain, its catalogue found once per request rather than per string.

Flask-Babel looks the catalogue up again for every string it translates: the context
namespace on ``g`` (several ``LocalProxy`` look-ups), the locale, its name, the cache of
catalogues. On the record list (about 150 strings, labels included) that was a fifth of the
request's CPU. The catalogue depends on the locale only, and Flask-Babel keeps the locale
of the request on that same namespace (``babel_locale``; ``force_locale`` and ``refresh``
replace it), so the catalogue is kept beside it, tied to that very locale object: a new
locale, forced or refreshed, looks its catalogue up again.
"""

from __future__ import annotations

from flask import g, has_app_context
from flask_babel import Domain

KEPT = "portal_translations"


class RequestDomain(Domain):
    def get_translations(self):
        namespace = (
            getattr(g._get_current_object(), "_flask_babel", None) if has_app_context() else None
        )
        if namespace is not None:
            kept = namespace.__dict__.get(KEPT)
            locale = namespace.__dict__.get("babel_locale")
            if kept is not None and locale is not None and kept[0] is locale:
                return kept[1]
        translations = super().get_translations()
        if namespace is None and has_app_context():
            namespace = getattr(g._get_current_object(), "_flask_babel", None)
        locale = namespace.__dict__.get("babel_locale") if namespace is not None else None
        if locale is not None:
            setattr(namespace, KEPT, (locale, translations))
        return translations
