"""Ids read from a request, with one bound: in a path (the ``id`` URL converter), in a form
or query value (``parse_id``), in a page link (``decode_cursor``).

An id is written in ASCII decimal digits and lies in 1..MAX_ID, the range of the id
columns (INTEGER: 32 bits on PostgreSQL). A number beyond it names nothing, and would
overflow the database's integer before the query could say so (SQLite refuses a Python int
past 64 bits: the request ended in a 500). ``str.isdigit`` is no test: ``"²".isdigit()``
is true and ``int("²")`` raises; ``int`` also reads "+1", " 1", "1_0" and other scripts'
digits.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from werkzeug.routing import BaseConverter, ValidationError

MAX_ID = 2**31 - 1
_MAX_DIGITS = len(str(MAX_ID))
# A page link holds a few values and an id: at most a sort name (400 characters, each up to
# six as JSON's \uXXXX, and base64 adds a third). Anything longer is not one of ours.
_MAX_CURSOR = 4096


def parse_id(value: object) -> int | None:
    """The id written in ``value`` (a form or query value), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_ID else None
    if (
        not isinstance(value, str)
        or not (value.isascii() and value.isdigit())
        or len(value) > _MAX_DIGITS
    ):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


def coerce_id(value: object) -> int:
    """``parse_id`` for a WTForms field's ``coerce``: a ValueError makes the field invalid
    (its "not a valid choice" message) instead of an id the database cannot hold."""
    number = parse_id(value)
    if number is None:
        raise ValueError(value)
    return number


def _up_to(bound: int) -> str:
    """A regular expression for the numbers 1..bound as written, without leading zeros."""
    digits = str(bound)
    width = len(digits)
    options = [f"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else []
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            options.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{width - i - 1}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(BaseConverter):
    """``<id:name>`` in a route: an id in range, or the URL matches nothing (404) before any
    query is made. The bound is in the regular expression itself: a value the converter
    refused after matching would make werkzeug answer 405 where a rule of another method
    has the same path."""

    regex = _up_to(MAX_ID)
    weight = 50  # as werkzeug's own number converters: tried before a string argument
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class BadCursor(ValueError):
    """A page link that this portal did not make: malformed, or an id out of range."""


def encode_cursor(*values: Any) -> str:
    """An opaque page link: the sort values of the last row shown, its id last."""
    raw = json.dumps([v.isoformat() if isinstance(v, date) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *parse: Callable[[Any], Any]) -> tuple:
    """The values of a link ``encode_cursor`` made, each read by its ``parse`` (and its id,
    last, checked as every id is); BadCursor for anything else."""
    try:
        if len(cursor) > _MAX_CURSOR:
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(values, list) or len(values) != len(parse) + 1:
            raise ValueError(cursor)
        *fields, row_id = values
        if not isinstance(row_id, int) or parse_id(row_id) is None:
            raise ValueError(cursor)
        return (*(read(field) for read, field in zip(parse, fields, strict=True)), row_id)
    except (ValueError, TypeError, OverflowError, binascii.Error) as error:
        raise BadCursor(cursor) from error


def init_app(app) -> None:
    """Registers the ``id`` converter: before the blueprints, whose rules name it."""
    app.url_map.converters["id"] = IdConverter
