"""ID-number checks that need no database: format, birth province, sex and birth year.

A CCCD (personal ID number) has 12 digits: the birth-province code (3 digits), one digit
for century and sex, the last two digits of the birth year, and 6 random digits; there
is no check digit. The old CMND has 9 digits and carries nothing we can check. So a
CCCD alone contradicts a wrong sex or birth year before the register is asked.

Foreign nationals carry a passport number: only its absence is reported.

``check_id`` gives every issue, in the fixed order of ``ISSUE_CODES``; ``sql_issue`` is
its set-based twin and gives the first one, or NULL, for whole tables at once.

The messages are fixed Vietnamese text (the language of the records), not gettext
messages: the interface's catalogue is keyed by English msgids, and a page that needs
another language can render from ``code`` and ``field`` instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, ColumnExpressionArgument
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

# In the order they are checked; ``sql_issue`` returns the first that applies.
MISSING = "missing"
NOT_DIGITS = "not_digits"
BAD_LENGTH = "bad_length"
BAD_PROVINCE = "bad_province"
SEX_CONTRADICTS = "sex_contradicts"
CENTURY_CONTRADICTS = "century_contradicts"
YEAR_CONTRADICTS = "year_contradicts"
ISSUE_CODES = (
    MISSING,
    NOT_DIGITS,
    BAD_LENGTH,
    BAD_PROVINCE,
    SEX_CONTRADICTS,
    CENTURY_CONTRADICTS,
    YEAR_CONTRADICTS,
)

# What ``classify`` makes of each code.
CATEGORY_MISSING = "missing"
CATEGORY_INVALID = "invalid"
CATEGORY_CONTRADICTS = "contradicts"
CATEGORY_OK = "ok"
CATEGORY_OF = {
    MISSING: CATEGORY_MISSING,
    NOT_DIGITS: CATEGORY_INVALID,
    BAD_LENGTH: CATEGORY_INVALID,
    BAD_PROVINCE: CATEGORY_INVALID,
    SEX_CONTRADICTS: CATEGORY_CONTRADICTS,
    CENTURY_CONTRADICTS: CATEGORY_CONTRADICTS,
    YEAR_CONTRADICTS: CATEGORY_CONTRADICTS,
}

CCCD_LENGTH = 12
CMND_LENGTH = 9
VIETNAMESE = "VN"
MALE = "male"  # the values of portal.records.models.Sex
FEMALE = "female"

# The 63 province codes of Circular 07/2016/TT-BCA. They stay on the cards issued before
# the 2025 merger of provinces, so they remain the valid birth-province codes.
PROVINCE_CODES = frozenset(
    """
    001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033
    034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066
    067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096
    """.split()
)

# The 4th digit: the first year of the birth century; even digits are men, odd women
# (Decree 137/2015; 8/9 are read as the 1800s).
CENTURY_START = {
    "0": 1900, "1": 1900,
    "2": 2000, "3": 2000,
    "4": 2100, "5": 2100,
    "6": 2200, "7": 2200,
    "8": 1800, "9": 1800,
}  # fmt: skip

_DIGITS = frozenset("0123456789")
_SEX_WORD = {MALE: "nam", FEMALE: "nữ"}


@dataclass(frozen=True)
class IdIssue:
    code: str  # one of ISSUE_CODES
    field: str | None  # the person's field the number contradicts or that is wrong
    message: str  # Vietnamese


def normalise_id(value: str | None) -> str | None:
    """The number without surrounding whitespace; None when nothing is left."""
    if value is None:
        return None
    return value.strip() or None


def digit_sex(digit: str) -> str:
    """The sex the 4th digit of a CCCD stands for."""
    return MALE if int(digit) % 2 == 0 else FEMALE


def _century_text(start: int) -> str:
    return f"thế kỷ {start // 100 + 1} ({start}–{start + 99})"


def check_id(
    id_number: str | None,
    sex: str,
    birth_date: date | None,
    birth_precision: str,
    nationality: str = VIETNAMESE,
) -> list[IdIssue]:
    """Every issue of this ID number against the person's sex and birth year.

    The birth year is known at every precision (day, month or year), so
    ``birth_precision`` does not weaken the checks. A number stripped of surrounding
    whitespace is checked; a foreigner's (a passport number) only for being present.
    """
    del birth_precision  # every precision keeps the year
    number = normalise_id(id_number)
    foreign = nationality != VIETNAMESE
    if number is None:
        message = "Thiếu số hộ chiếu." if foreign else "Thiếu số định danh (CCCD/CMND)."
        return [IdIssue(MISSING, "id_number", message)]
    if foreign:
        return []
    if not set(number) <= _DIGITS:
        return [IdIssue(NOT_DIGITS, "id_number", "Số định danh chỉ được gồm chữ số.")]
    if len(number) not in (CCCD_LENGTH, CMND_LENGTH):
        return [
            IdIssue(
                BAD_LENGTH,
                "id_number",
                f"Số định danh phải có {CCCD_LENGTH} chữ số (CCCD) hoặc {CMND_LENGTH} chữ số"
                f" (CMND), số này có {len(number)}.",
            )
        ]
    if len(number) == CMND_LENGTH:
        return []

    issues: list[IdIssue] = []
    province, digit, year_digits = number[:3], number[3], number[4:6]
    if province not in PROVINCE_CODES:
        issues.append(
            IdIssue(
                BAD_PROVINCE,
                "id_number",
                f"Ba chữ số đầu của CCCD ({province}) không phải mã tỉnh nơi đăng ký khai sinh.",
            )
        )
    if sex in _SEX_WORD and digit_sex(digit) != sex:
        issues.append(
            IdIssue(
                SEX_CONTRADICTS,
                "sex",
                f"Chữ số thứ 4 của CCCD ({digit}) cho biết giới tính "
                f"{_SEX_WORD[digit_sex(digit)]}, nhưng bản ghi ghi {_SEX_WORD[sex]}.",
            )
        )
    if birth_date is not None:
        year = birth_date.year
        start = CENTURY_START[digit]
        if not start <= year <= start + 99:
            issues.append(
                IdIssue(
                    CENTURY_CONTRADICTS,
                    "birth_date",
                    f"Chữ số thứ 4 của CCCD ({digit}) cho biết sinh vào {_century_text(start)},"
                    f" nhưng bản ghi ghi năm {year}.",
                )
            )
        if year_digits != f"{year % 100:02d}":
            issues.append(
                IdIssue(
                    YEAR_CONTRADICTS,
                    "birth_date",
                    f"Chữ số thứ 5–6 của CCCD ({year_digits}) cho biết năm sinh …{year_digits},"
                    f" nhưng bản ghi ghi năm {year}.",
                )
            )
    return issues


def first_issue(
    id_number: str | None,
    sex: str,
    birth_date: date | None,
    birth_precision: str,
    nationality: str = VIETNAMESE,
) -> str | None:
    """The code ``sql_issue`` gives for the same values: the first issue, or None."""
    issues = check_id(id_number, sex, birth_date, birth_precision, nationality)
    return issues[0].code if issues else None


def classify_codes(codes: list[str] | tuple[str, ...]) -> str:
    """The category of a list of issue codes: the first of missing, invalid, contradicts;
    "ok" when there is none."""
    categories = {CATEGORY_OF[code] for code in codes}
    for category in (CATEGORY_MISSING, CATEGORY_INVALID, CATEGORY_CONTRADICTS):
        if category in categories:
            return category
    return CATEGORY_OK


def classify(
    id_number: str | None,
    sex: str,
    birth_date: date | None,
    birth_precision: str,
    nationality: str = VIETNAMESE,
) -> str:
    """One of "missing", "invalid" (malformed), "contradicts" (well formed, but the
    4th–6th digits contradict the sex or birth year) or "ok"."""
    issues = check_id(id_number, sex, birth_date, birth_precision, nationality)
    return classify_codes([issue.code for issue in issues])


class has_non_digit(FunctionElement):  # noqa: N801 (named like the SQL functions it stands for)
    """True when a string holds any character other than 0-9: one pattern test on
    SQLite (GLOB) and PostgreSQL (a regular expression), ten nested ``replace`` calls
    elsewhere. Matching evaluates it for every person, and the pattern test is the
    cheaper by about a third of the whole ID check."""

    type = sa.Boolean()
    inherit_cache = True
    name = "has_non_digit"


@compiles(has_non_digit)
def _has_non_digit_portable(element, compiler, **kw):
    stripped: ColumnElement[Any] = sa.type_coerce(list(element.clauses)[0], sa.String)
    for d in "0123456789":
        stripped = sa.func.replace(stripped, d, "")
    return compiler.process(stripped != "", **kw)


@compiles(has_non_digit, "sqlite")
def _has_non_digit_sqlite(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} GLOB '*[^0-9]*')"


@compiles(has_non_digit, "postgresql")
def _has_non_digit_postgresql(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} ~ '[^0-9]')"


class date_part(FunctionElement):  # noqa: N801 (named like the SQL functions it stands for)
    """The year, month or day of a date column as an integer. SQLite keeps dates as ISO
    text, so there it is a substring (``strftime`` parses the whole date each time, and
    matching asks for these parts several times per person); elsewhere ``EXTRACT``."""

    type = sa.Integer()
    inherit_cache = True
    name = "date_part"

    def __init__(self, part: str, column: Any) -> None:
        self.part = part
        super().__init__(column)


_ISO_SLICES = {"year": (1, 4), "month": (6, 2), "day": (9, 2)}


@compiles(date_part)
def _date_part_portable(element, compiler, **kw):
    column = list(element.clauses)[0]
    return compiler.process(sa.cast(sa.extract(element.part, column), sa.Integer), **kw)


@compiles(date_part, "sqlite")
def _date_part_sqlite(element, compiler, **kw):
    start, length = _ISO_SLICES[element.part]
    return f"CAST(substr({compiler.process(element.clauses, **kw)}, {start}, {length}) AS INTEGER)"


def sql_issue(
    id_col: ColumnExpressionArgument[Any],
    sex_col: ColumnExpressionArgument[Any],
    birth_col: ColumnExpressionArgument[Any],
    nationality_col: ColumnExpressionArgument[Any],
) -> ColumnElement[str | None]:
    """The first issue code of ``check_id`` as a SQL expression, NULL when the ID passes.

    Portable SQL for SQLite and PostgreSQL (CASE, length, substr, replace, IN, extract).
    The ID column must hold stripped values, as the record services store them; the
    expression does not strip. The ID's characters are compared as strings and never
    cast, so no malformed number can make PostgreSQL fail a cast.
    """
    number = sa.type_coerce(id_col, sa.String)
    sex = sa.type_coerce(sex_col, sa.String)
    nationality = sa.type_coerce(nationality_col, sa.String)
    year = date_part("year", birth_col)

    length = sa.func.length(number)
    century_digit = sa.func.substr(number, 4, 1)
    is_cccd = length == CCCD_LENGTH
    male_digits = [d for d in CENTURY_START if digit_sex(d) == MALE]
    female_digits = [d for d in CENTURY_START if digit_sex(d) == FEMALE]
    century_start = sa.case(
        *((century_digit == d, start) for d, start in CENTURY_START.items()), else_=sa.null()
    )
    # '1985' -> 1985 % 100 + 100 = 185 -> '185' -> '85' (no padding function is portable).
    year_digits = sa.func.substr(sa.cast(year % 100 + 100, sa.String), 2, 2)

    expression: ColumnElement[str | None] = sa.case(
        (sa.or_(number.is_(None), number == ""), MISSING),
        (sa.func.coalesce(nationality, "") != VIETNAMESE, sa.null()),
        (has_non_digit(number), NOT_DIGITS),
        (length.not_in([CCCD_LENGTH, CMND_LENGTH]), BAD_LENGTH),
        (
            sa.and_(is_cccd, sa.func.substr(number, 1, 3).not_in(sorted(PROVINCE_CODES))),
            BAD_PROVINCE,
        ),
        (
            sa.and_(
                is_cccd,
                sa.or_(
                    sa.and_(century_digit.in_(male_digits), sex == FEMALE),
                    sa.and_(century_digit.in_(female_digits), sex == MALE),
                ),
            ),
            SEX_CONTRADICTS,
        ),
        (
            sa.and_(is_cccd, sa.or_(year < century_start, year > century_start + 99)),
            CENTURY_CONTRADICTS,
        ),
        (sa.and_(is_cccd, sa.func.substr(number, 5, 2) != year_digits), YEAR_CONTRADICTS),
        else_=sa.null(),
    )
    return expression
