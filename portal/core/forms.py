"""The base form: WTForms' own messages go through the portal's catalogue.

WTForms ships no Vietnamese translation, so its messages are listed below for
extraction and translated in ``portal/translations`` like every other text.
"""

from __future__ import annotations

from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

WTFORMS_MESSAGES = (
    _l("Not a valid choice."),
    _l("This field is required."),
    _l("Invalid input."),
    _l("Invalid Choice: could not coerce."),
    _l("Not a valid date value."),
    _l("Not a valid integer value."),
    _l("Field must be at least %(min)d characters long."),
    _l("Field cannot be longer than %(max)d characters."),
    _l("Field must be between %(min)d and %(max)d characters long."),
)


class _PortalTranslations:
    def gettext(self, string: str) -> str:
        return gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return ngettext(singular, plural, n)


class PortalForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _PortalTranslations()
