"""ID-number checks without the register: the Python rules and their SQL twin agree."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.records.idcheck import (
    ISSUE_CODES,
    PROVINCE_CODES,
    IdIssue,
    check_id,
    classify,
    first_issue,
    normalise_id,
    sql_issue,
)
from portal.records.models import BirthPrecision, Person, Sex

# Written out here rather than taken from the module, so a slip there is caught.
CENTURY_OF_DIGIT = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200,
                    8: 1800, 9: 1800}  # fmt: skip
PROVINCES = sorted(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 "
    "034 035 036 037 038 040 042 044 045 046 048 049 051 052 054 056 058 060 062 064 066 "
    "067 068 070 072 074 075 077 079 080 082 083 084 086 087 089 091 092 093 094 095 096".split()
)
PRECISIONS = [p.value for p in BirthPrecision]
HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def cccd(sex: str, year: int, province: str = "001", serial: str = "123456") -> str:
    digits = [d for d, start in CENTURY_OF_DIGIT.items() if start == year - year % 100]
    digit = min(digits) if sex == "male" else max(digits)
    return f"{province}{digit}{year % 100:02d}{serial}"


def codes(*args, **kwargs) -> list[str]:
    return [issue.code for issue in check_id(*args, **kwargs)]


def sql_first(id_number, sex, birth, nationality) -> str | None:
    expression = sql_issue(
        sa.literal(id_number, sa.String),
        sa.literal(sex, sa.String),
        sa.literal(birth, sa.Date),
        sa.literal(nationality, sa.String),
    )
    return db.session.execute(sa.select(expression)).scalar_one()


def test_the_province_list_is_the_63_codes():
    assert sorted(PROVINCE_CODES) == PROVINCES and len(PROVINCES) == 63


@pytest.mark.parametrize("digit", range(10))
@pytest.mark.parametrize("sex", ["male", "female"])
@pytest.mark.parametrize("year", [1850, 1985, 2005, 2150])
def test_century_and_sex_digit(digit, sex, year):
    number = f"001{digit}{year % 100:02d}123456"
    expected = []
    if (digit % 2 == 0) != (sex == "male"):
        expected.append("sex_contradicts")
    if not CENTURY_OF_DIGIT[digit] <= year < CENTURY_OF_DIGIT[digit] + 100:
        expected.append("century_contradicts")
    assert codes(number, sex, date(year, 6, 1), "day") == expected
    assert classify(number, sex, date(year, 6, 1), "day") == ("contradicts" if expected else "ok")


@pytest.mark.parametrize("precision", ["year", "month"])
def test_a_coarse_birth_date_still_has_its_year_checked(precision):
    birth = date(1985, 1, 1) if precision == "year" else date(1985, 7, 1)
    assert check_id("001085123456", "male", birth, precision) == []
    assert codes("001086123456", "male", birth, precision) == ["year_contradicts"]
    assert codes("001285123456", "male", birth, precision) == ["century_contradicts"]
    assert codes("001185123456", "male", birth, precision) == ["sex_contradicts"]


def test_a_woman_born_1985_with_a_mans_digit():
    issues = check_id("001085123456", Sex.FEMALE, date(1985, 3, 14), BirthPrecision.DAY)
    assert issues == [
        IdIssue(
            "sex_contradicts",
            "sex",
            "Chữ số thứ 4 của CCCD (0) cho biết giới tính nam, nhưng bản ghi ghi nữ.",
        )
    ]
    assert "Chữ số thứ 4" in issues[0].message
    assert classify("001085123456", "female", date(1985, 3, 14), "day") == "contradicts"


def test_the_messages_name_the_digits_and_the_field():
    [century] = check_id("001285123456", "male", date(1985, 3, 14), "day")
    assert century == IdIssue(
        "century_contradicts",
        "birth_date",
        "Chữ số thứ 4 của CCCD (2) cho biết sinh vào thế kỷ 21 (2000–2099), "
        "nhưng bản ghi ghi năm 1985.",
    )
    [year] = check_id("001086123456", "male", date(1985, 3, 14), "day")
    assert year == IdIssue(
        "year_contradicts",
        "birth_date",
        "Chữ số thứ 5–6 của CCCD (86) cho biết năm sinh …86, nhưng bản ghi ghi năm 1985.",
    )
    [province] = check_id("999085123456", "male", date(1985, 3, 14), "day")
    assert province == IdIssue(
        "bad_province",
        "id_number",
        "Ba chữ số đầu của CCCD (999) không phải mã tỉnh nơi đăng ký khai sinh.",
    )
    # Women's digits and the 1800s read right too.
    [sex] = check_id("001985123456", "male", date(1885, 1, 1), "year")
    assert sex.message == "Chữ số thứ 4 của CCCD (9) cho biết giới tính nữ, nhưng bản ghi ghi nam."
    [century] = check_id("001985123456", "female", date(1985, 1, 1), "year")
    assert "thế kỷ 19 (1800–1899)" in century.message


@pytest.mark.parametrize("value", [None, "", "   ", "\t\n"])
@pytest.mark.parametrize("nationality", ["VN", "US"])
def test_missing(value, nationality):
    [issue] = check_id(value, "male", date(1985, 3, 14), "day", nationality)
    assert issue.code == "missing" and issue.field == "id_number"
    expected = "Thiếu số định danh (CCCD/CMND)." if nationality == "VN" else "Thiếu số hộ chiếu."
    assert issue.message == expected
    assert classify(value, "male", date(1985, 3, 14), "day", nationality) == "missing"


@pytest.mark.parametrize(
    "value", ["00108512345A", "abc", "001-085-123456", "001 085 123456", "12345678٩", "¹23456789"]
)
def test_non_digits(value):
    issues = check_id(value, "male", date(1985, 3, 14), "day")
    assert issues == [IdIssue("not_digits", "id_number", "Số định danh chỉ được gồm chữ số.")]
    assert classify(value, "male", date(1985, 3, 14), "day") == "invalid"


def test_surrounding_whitespace_is_ignored():
    assert check_id("  001085123456\n", "male", date(1985, 3, 14), "day") == []


@pytest.mark.parametrize("length", [1, 8, 10, 11, 13, 20])
def test_bad_length(length):
    value = ("0010851234567890123456")[:length]
    [issue] = check_id(value, "male", date(1985, 3, 14), "day")
    assert issue.code == "bad_length" and issue.field == "id_number"
    assert issue.message == (
        f"Số định danh phải có 12 chữ số (CCCD) hoặc 9 chữ số (CMND), số này có {length}."
    )
    assert classify(value, "male", date(1985, 3, 14), "day") == "invalid"


@pytest.mark.parametrize("province", ["000", "003", "097", "100", "999"])
def test_bad_province(province):
    value = f"{province}085123456"
    assert codes(value, "male", date(1985, 3, 14), "day") == ["bad_province"]
    # The other checks still run, after it; the number counts as malformed.
    assert codes(value, "female", date(1986, 3, 14), "day") == [
        "bad_province", "sex_contradicts", "year_contradicts",
    ]  # fmt: skip
    assert classify(value, "female", date(1986, 3, 14), "day") == "invalid"


@pytest.mark.parametrize("value", ["123456789", "000000000", "999999999"])
def test_a_nine_digit_cmnd_passes(value):
    for sex in ("male", "female"):
        assert check_id(value, sex, date(1960, 1, 1), "year") == []
        assert classify(value, sex, date(1960, 1, 1), "year") == "ok"


@pytest.mark.parametrize("value", ["B1234567", "C-998877", "999185123456", "12", "001085123456"])
def test_foreigners_carry_passports_and_skip_the_cccd_rules(value):
    assert check_id(value, "female", date(1985, 3, 14), "day", "US") == []
    assert classify(value, "female", date(1985, 3, 14), "day", nationality="KR") == "ok"


def test_normalise_id():
    assert normalise_id(None) is None
    assert normalise_id("") is None
    assert normalise_id(" \t ") is None
    assert normalise_id(" 001085123456 ") == "001085123456"
    assert normalise_id("001 085") == "001 085"


def test_issues_come_in_the_documented_order():
    assert ISSUE_CODES == (
        "missing", "not_digits", "bad_length", "bad_province",
        "sex_contradicts", "century_contradicts", "year_contradicts",
    )  # fmt: skip
    assert codes("999285123456", "female", date(1986, 1, 1), "day") == [
        "bad_province", "sex_contradicts", "century_contradicts", "year_contradicts",
    ]  # fmt: skip


sexes = st.sampled_from(["male", "female"])
provinces = st.sampled_from(PROVINCES)
serials = st.text(alphabet="0123456789", min_size=6, max_size=6)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
precisions = st.sampled_from(PRECISIONS)


@HYPOTHESIS
@given(sex=sexes, birth=births, province=provinces, serial=serials, precision=precisions)
def test_a_consistent_cccd_passes(sex, birth, province, serial, precision):
    number = cccd(sex, birth.year, province, serial)
    assert check_id(number, sex, birth, precision) == []
    assert classify(number, sex, birth, precision) == "ok"


@HYPOTHESIS
@given(
    sex=sexes, birth=births, province=provinces, serial=serials, precision=precisions,
    other_year=st.integers(0, 99),
)  # fmt: skip
def test_a_changed_digit_is_caught(sex, birth, province, serial, precision, other_year):
    number = cccd(sex, birth.year, province, serial)
    digit = int(number[3])
    other_sex = str(digit + 1 if digit % 2 == 0 else digit - 1)
    swapped = number[:3] + other_sex + number[4:]
    assert codes(swapped, sex, birth, precision) == ["sex_contradicts"]
    if other_year != birth.year % 100:
        moved = number[:4] + f"{other_year:02d}" + number[6:]
        assert codes(moved, sex, birth, precision) == ["year_contradicts"]
    other_century = str((digit + 2) % 10)
    assert codes(number[:3] + other_century + number[4:], sex, birth, precision) == [
        "century_contradicts"
    ]


@st.composite
def id_numbers(draw):
    """Valid numbers, near misses and rubbish, some with surrounding whitespace."""
    kind = draw(st.sampled_from(["valid", "mutated", "digits", "text", "none"]))
    if kind == "none":
        return None
    if kind == "valid":
        year = draw(st.integers(1800, 2299))
        number = cccd(draw(sexes), year, draw(provinces), draw(serials))
    elif kind == "mutated":
        year = draw(st.integers(1800, 2299))
        number = cccd(draw(sexes), year, draw(provinces), draw(serials))
        at = draw(st.integers(0, 11))
        number = number[:at] + draw(st.sampled_from("0123456789a- ")) + number[at + 1 :]
    elif kind == "digits":
        number = draw(st.text(alphabet="0123456789", max_size=14))
    else:
        number = draw(st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=14))
    pad = draw(st.sampled_from(["", " ", "\t "]))
    return pad + number + pad


@HYPOTHESIS
@given(
    raw=id_numbers(),
    sex=sexes,
    birth=st.dates(min_value=date(1750, 1, 1), max_value=date(2350, 12, 31)),
    precision=precisions,
    nationality=st.sampled_from(["VN", "VN", "VN", "US", "KR", ""]),
)
def test_the_sql_twin_gives_the_first_issue(app, raw, sex, birth, precision, nationality):
    expected = first_issue(raw, sex, birth, precision, nationality)
    event(f"first issue: {expected}")
    # The services store numbers stripped; the SQL expects them so.
    assert sql_first(normalise_id(raw), sex, birth, nationality) == expected


def test_the_sql_twin_on_person_columns(make_person):
    cases = [
        dict(id_number="001085123456"),
        dict(id_number="001085123456", sex=Sex.FEMALE),
        dict(id_number="001285123456", birth_precision=BirthPrecision.YEAR),
        dict(id_number="001086123456", birth_date=date(1985, 7, 1)),
        dict(id_number="999085123456"),
        dict(id_number="123456789"),
        dict(id_number="0010851234567"),
        dict(id_number="AB-123"),
        dict(id_number=None),
        dict(id_number="  "),
        dict(id_number="B1234567", nationality="US"),
        dict(id_number=None, nationality="US"),
        dict(id_number="001305123456", sex=Sex.FEMALE, birth_date=date(2005, 2, 28)),
    ]
    people = [make_person(**case) for case in cases]
    ids = [p.id for p in people]
    query = sa.select(
        Person.id, sql_issue(Person.id_number, Person.sex, Person.birth_date, Person.nationality)
    ).where(Person.id.in_(ids))
    rows = {person_id: issue for person_id, issue in db.session.execute(query)}
    got = [rows[p.id] for p in people]
    expected = [
        first_issue(p.id_number, p.sex, p.birth_date, p.birth_precision, p.nationality)
        for p in people
    ]
    assert got == expected
    assert got == [
        None, "sex_contradicts", "century_contradicts", "year_contradicts", "bad_province",
        None, "bad_length", "not_digits", "missing", "missing", None, "missing", None,
    ]  # fmt: skip
