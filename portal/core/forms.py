"""The base form: WTForms' own messages go through the portal's catalogue.

WTForms ships no Vietnamese translation, so its messages are listed below for
extraction and translated in ``portal/translations`` like every other text.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from portal.core import dates

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
    """The catalogue's text, left unformatted: WTForms fills in ``%(max)d`` and the like
    itself. (Flask-Babel's ``ngettext`` formats with ``num`` alone, and a message naming
    ``%(max)d`` raised KeyError: a 500 for any value too long, found by the fuzz test.)
    Vietnamese has one form, and the catalogue lists WTForms' plural ones above."""

    def gettext(self, string: str) -> str:
        return get_translations().gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().gettext(singular if n == 1 else plural)


class PortalForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _PortalTranslations()


class DayField(StringField):
    """A day as people type it (dd/mm/yyyy or yyyy-mm-dd), read by the portal's one date
    reader (``core.dates.day``): ``data`` is the date, None when blank; a day it cannot
    read is the field's error, in the user's language. The box shows what was typed (a
    day it cannot read too, beside its message)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = dates.day(text) if text else None
        if text and self.data is None:
            raise ValueError(dates.WRITE_A_DAY)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0]).strip()
        return self.data.isoformat() if isinstance(self.data, date) else ""
