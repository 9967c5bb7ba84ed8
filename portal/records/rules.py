"""The rules of a record's fields, once: full name, sex, (partial) birth date, ID number,
phone, nationality, vaccine, dose number and vaccination date.

Every entry point calls these: the inline editor (``records.corrections``), the new-dose
form, the Excel import and its command (``imports.validation``), the register extract and
its command (``registry.extract``), the remote register adapter (``registry.remote``), the
public complaint form (``feedback.forms``) and the API (``api.services``). So a value gets
the same verdict everywhere, and a refusal the same message: each function returns the
value as the portal stores it, or a ``Refusal`` naming its rule.

Blank input is the caller's business where a field is optional in one place and
mandatory in another (the import demands an ID number, the complaint form does not):
those functions return None for it. "Today" is Vietnam's (the server runs in UTC).

Cell values from spreadsheets (numbers, dates) are read too, so that a typed
"02/05/1990" and a date cell holding it are one and the same: dates through the portal's
one date reader, ``core.dates``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.core import dates
from portal.core.clock import today_in_vietnam
from portal.core.dates import DAY, MIN_YEAR, MONTH, YEAR
from portal.core.text import fold
from portal.records import idcheck, vaccines

if TYPE_CHECKING:
    from typing_extensions import TypeIs

NAME_MAX = 200
PASSPORT_MAX = 20
DOSE_MAX = 10
FIRST_VACCINATION_DAY = date(2021, 3, 8)  # the first COVID-19 dose given in Viet Nam
SEX_WORDS = {
    "nam": "male",
    "male": "male",
    "m": "male",
    "nu": "female",
    "female": "female",
    "f": "female",
}  # after fold(): "nữ" is "nu"
NATIONALITY_WORDS = {"viet nam": "VN", "vietnam": "VN", "vn": "VN", "vnm": "VN"}
_NAME_BAD = re.compile(r"[0-9_@#$%^&*=+<>/\\|{}\[\]~`!?;:\"]")
_ID_SEPARATORS = re.compile(r"[\s.\-]+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]+")
_PHONE = re.compile(r"^(0\d{9,10}|\+\d{9,14})$")


@dataclass(frozen=True)
class Refusal:
    """A value refused: the rule (``"birth.no_such_day"`` …) and the message."""

    rule: str
    message: LazyString | str

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class IdNumber:
    number: str | None
    tidied: bool = False  # typed with spaces, dots or dashes, which were removed


def refused(value: object) -> TypeIs[Refusal]:
    return isinstance(value, Refusal)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- name, sex, nationality, phone ------------------------------------------------------


def full_name(raw: Any) -> str | Refusal:
    """Composed Unicode with single spaces; letters (any script), spaces, dots, dashes and
    apostrophes only."""
    text = unicodedata.normalize("NFC", _text(raw))
    if not text:
        return Refusal("name.missing", _l("Enter the full name."))
    if len(text) > NAME_MAX:
        return Refusal(
            "name.too_long", _l("The full name is longer than %(n)d characters.", n=NAME_MAX)
        )
    if _NAME_BAD.search(text):
        return Refusal("name.characters", _l("A full name holds letters and spaces only."))
    return text


def sex(raw: Any) -> str | Refusal:
    """ "male" or "female" (the values of ``Sex``) for Nam/Nữ, male/female, M/F."""
    if _blank(raw):
        return Refusal("sex.missing", _l("The sex is missing."))
    found = SEX_WORDS.get(fold(_text(raw)))
    if found is None:
        return Refusal(
            "sex.unknown", _l("Unknown sex “%(value)s”: write Nam or Nữ.", value=_text(raw)[:40])
        )
    return found


def nationality(raw: Any) -> str | Refusal:
    """The two-letter country code; blank is Viet Nam."""
    text = _text(raw)
    if not text or fold(text) in NATIONALITY_WORDS:
        return "VN"
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return Refusal(
        "nationality.invalid",
        _l(
            "Nationality “%(value)s”: write VN or the country's two-letter code (ISO 3166).",
            value=text[:40],
        ),
    )


def phone(raw: Any) -> str | None | Refusal:
    """A phone number without separators: 0 and 9 or 10 digits (+84 is written 0), or
    + and a foreign country code; None when blank."""
    text = _PHONE_SEPARATORS.sub("", _text(raw))
    if not text:
        return None
    if text.startswith("+84"):
        text = "0" + text[3:]
    elif text.startswith("84") and len(text) == 11:
        text = "0" + text[2:]
    if not text.isascii() or not _PHONE.match(text):
        return Refusal(
            "phone.invalid",
            _l("A phone number has 10 or 11 digits starting with 0, or + and the country code."),
        )
    return text


# --- ID number ----------------------------------------------------------------------------


def id_number(raw: Any, nationality_code: str = idcheck.VIETNAMESE) -> IdNumber | Refusal:
    """The number as stored (separators removed), or why it is malformed: a CCCD of 12
    digits beginning with a birth-province code, a CMND of 9 digits, or a foreigner's
    passport number. A number that contradicts the sex or the birth year is not refused
    here: matching flags the record (``idcheck.check_id``)."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        if isinstance(raw, float) and not raw.is_integer():
            return Refusal(
                "id.not_digits", _l("The ID number “%(value)s” may contain only digits.", value=raw)
            )
        number = str(int(raw))
        # A CCCD begins with 0 (province codes 001-096), a CMND may: as a number, it
        # lost one or two zeros.
        if nationality_code == idcheck.VIETNAMESE and len(number) < 12 and len(number) != 9:
            return Refusal(
                "id.leading_zero",
                _l(
                    "The ID number %(value)s was stored as a number, so Excel dropped its leading "
                    "zero. Format the column as Text and enter the number again.",
                    value=number,
                ),
            )
        text = number
    else:
        text = "" if raw is None else str(raw).strip()
    number = _ID_SEPARATORS.sub("", text)
    if not number:
        return IdNumber(None)
    tidied = number != text
    if nationality_code != idcheck.VIETNAMESE:
        if len(number) > PASSPORT_MAX or not number.isalnum():
            return Refusal(
                "id.passport", _l("A passport number has at most 20 letters and digits.")
            )
        return IdNumber(number, tidied)
    for issue in idcheck.check_id(number, "", None, DAY, idcheck.VIETNAMESE):
        if issue.code == idcheck.NOT_DIGITS:
            return Refusal(
                "id.not_digits",
                _l("The ID number “%(value)s” may contain only digits.", value=number[:40]),
            )
        if issue.code == idcheck.BAD_LENGTH:
            return Refusal(
                "id.bad_length",
                _l(
                    "The ID number must have 9 or 12 digits; “%(value)s” has %(n)d.",
                    value=number[:40],
                    n=len(number),
                ),
            )
        if issue.code == idcheck.BAD_PROVINCE:
            return Refusal("id.bad_province", issue.message)
    return IdNumber(number, tidied)


# --- dates ---------------------------------------------------------------------------------


_FORMATS = {DAY: "%d/%m/%Y", MONTH: "%m/%Y", YEAR: "%Y"}


def _shown(day: date, precision: str = DAY) -> str:
    return day.strftime(_FORMATS[precision])


def birth_date(
    raw: Any, precision: str | None = None, today: date | None = None, full: bool = False
) -> tuple[date, str] | Refusal:
    """(date, precision): dd/mm/yyyy or yyyy-mm-dd, mm/yyyy or yyyy-mm when only the month
    is known, yyyy when only the year is (``full``: a whole date is needed). ``precision``, when a
    form chose one, must agree with what was written."""
    if _blank(raw):
        return Refusal("birth.missing", _l("The date of birth is missing."))
    shown = _text(raw)[:40]
    try:
        read = dates.read(raw, partial=not full)
    except dates.NoSuchDay:
        return Refusal(
            "birth.no_such_day",
            _l("%(what)s: “%(value)s” is not a real date.", what=_l("Date of birth"), value=shown),
        )
    if read is None:
        if full:
            return Refusal("birth.not_full", _l("Write the full date of birth: dd/mm/yyyy."))
        return Refusal(
            "birth.unreadable",
            _l(
                "Unreadable date of birth “%(value)s”: write dd/mm/yyyy, yyyy-mm-dd or only the "
                "year (yyyy).",
                value=shown,
            ),
        )
    day, found = read
    if precision is not None and found != precision:
        return Refusal(
            "birth.precision",
            {
                DAY: _l("Write the date of birth as dd/mm/yyyy."),
                MONTH: _l("Write the month of birth as mm/yyyy."),
                YEAR: _l("Write the year of birth as yyyy."),
            }[precision],
        )
    if day.year < MIN_YEAR:
        return Refusal(
            "birth.before_1900",
            _l(
                "The date of birth %(value)s is before %(year)d.",
                value=_shown(day, found),
                year=MIN_YEAR,
            ),
        )
    if day > (today or today_in_vietnam()):
        return Refusal(
            "birth.future",
            _l("The date of birth %(value)s is in the future.", value=_shown(day, found)),
        )
    return day, found


def vaccination_date(raw: Any, today: date | None = None) -> date | Refusal:
    """A whole date, from 08/03/2021 (the first dose given in Viet Nam) to today."""
    what = _l("Vaccination date")
    if _blank(raw):
        return Refusal("dose_date.missing", _l("Enter the vaccination date."))
    shown = _text(raw)[:40]
    try:
        read = dates.read(raw)
    except dates.NoSuchDay:
        return Refusal(
            "dose_date.no_such_day",
            _l("%(what)s: “%(value)s” is not a real date.", what=what, value=shown),
        )
    if read is None:
        return Refusal(
            "dose_date.unreadable",
            _l("%(what)s: “%(value)s” cannot be read; write dd/mm/yyyy.", what=what, value=shown),
        )
    day = read[0]
    if day > (today or today_in_vietnam()):
        return Refusal(
            "dose_date.future",
            _l("%(what)s %(value)s is in the future.", what=what, value=_shown(day)),
        )
    if day < FIRST_VACCINATION_DAY:
        return Refusal("dose_date.too_early", _l("The vaccination date is before 08/03/2021."))
    return day


# --- dose ------------------------------------------------------------------------------------


def dose_number(raw: Any) -> int | Refusal:
    text = _text(raw)
    if not text:
        return Refusal("dose_number.missing", _l("Enter the dose number."))
    # ASCII digits, a few of them: "²".isdigit() is true and int("²") raises; int("٢")
    # reads another script; int() of more than 4,300 digits raises.
    if (
        isinstance(raw, bool)
        or not (text.isascii() and text.isdigit())
        or len(text) > 20
        or not 1 <= int(text) <= DOSE_MAX
    ):
        return Refusal(
            "dose_number.range",
            _l(
                "The dose number “%(value)s” must be a whole number from 1 to %(max)d.",
                value=text[:20],
                max=DOSE_MAX,
            ),
        )
    return int(text)


def vaccine(raw: Any) -> str | None | Refusal:
    """The product's code for its code, its name or a common spelling (case and
    diacritics ignored); None when blank."""
    text = _text(raw)
    if not text:
        return None
    code = vaccines.catalogue().resolve(text)
    if code is None:
        return Refusal(
            "vaccine.unknown",
            _l("Unknown vaccine “%(value)s”: choose one from the list.", value=text[:80]),
        )
    return code
