"""Issue 15, item 5: one bound for an id read from a request, in a path, a form or a page
link."""

from __future__ import annotations

import random
import re
from datetime import date, datetime

import pytest

from portal.core.ids import (
    MAX_ID,
    BadCursor,
    IdConverter,
    coerce_id,
    decode_cursor,
    encode_cursor,
    parse_id,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1", 1),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        ("007", 7),
        (7, 7),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("9" * 5000, None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1 ", None),
        ("1_0", None),
        ("1.0", None),
        ("²", None),
        ("١", None),
        ("１", None),
        ("", None),
        (None, None),
        (True, None),
        (0, None),
        (MAX_ID + 1, None),
        ([1], None),
    ],
)
def test_parse_id(text, expected):
    assert parse_id(text) == expected
    if expected is None:
        with pytest.raises(ValueError):
            coerce_id(text)
    else:
        assert coerce_id(text) == expected


def test_the_converter_matches_exactly_the_ids_in_range():
    pattern = re.compile(IdConverter.regex)
    draws = random.Random(15)
    numbers = [
        *range(0, 2000),
        MAX_ID - 1,
        MAX_ID,
        MAX_ID + 1,
        10 * MAX_ID,
        10**20,
        *(draws.randrange(0, 10 * MAX_ID) for _ in range(20_000)),
    ]
    for number in numbers:
        assert bool(pattern.fullmatch(str(number))) == (1 <= number <= MAX_ID), number
    for text in ("01", "0", "", "²", "-1", "+1"):
        assert not pattern.fullmatch(text), text


def test_a_cursor_round_trips_and_refuses_what_it_did_not_make():
    assert decode_cursor(encode_cursor(12)) == (12,)
    moment = datetime(9999, 12, 31, 23, 59, 59)
    assert decode_cursor(encode_cursor(moment, 5), datetime.fromisoformat) == (moment, 5)
    assert decode_cursor(encode_cursor(date(2026, 1, 2), 5), date.fromisoformat) == (
        date(2026, 1, 2),
        5,
    )
    longest = "Ặ" * 400  # the longest sort name
    assert decode_cursor(encode_cursor(longest, MAX_ID), str) == (longest, MAX_ID)
    for bad in (
        encode_cursor(MAX_ID + 1),
        encode_cursor(10**20),
        encode_cursor(0),
        encode_cursor(True),
        encode_cursor("5"),
        encode_cursor(1, 2),
        encode_cursor("x", 5),
        "",
        "%%%",
        "²",
        "x" * 5000,
        "e30",
    ):
        with pytest.raises(BadCursor):
            decode_cursor(bad)
    with pytest.raises(BadCursor):
        decode_cursor(encode_cursor("not a date", 5), date.fromisoformat)
