"""Pages of a list: one helper for every paged list of the portal, and one ``Page`` that
the one pager template (``templates/_pager.html``) shows.

Lists read from the database are paged by keyset: a page link holds the sort values of a
row and its id (``core.ids.encode_cursor``), and the next page is the rows after it in the
list's order. One more row than a page is read, to know whether another page follows. A
page link the portal did not make (``BadCursor``) gives the first page and says why: never
a 500.

A list read whole in Python (the accounts of a province, filtered after folding their
names) is paged by number instead, with the same ``Page``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.core.ids import BadCursor, decode_cursor, encode_cursor
from portal.extensions import db

__all__ = [
    "BAD_CURSOR",
    "BadCursor",
    "Page",
    "first_page_if_bad",
    "keyset_page",
    "numbered_page",
    "page_number",
    "page_from",
]

T = TypeVar("T")

BAD_CURSOR = _l("The page link is invalid. Start again from the first page.")


@dataclass
class Page(Generic[T]):
    """A page of a list and the links around it. Keyset pages have cursors; numbered
    pages have ``number`` and ``pages``."""

    rows: list[T]
    total: int | None = None
    next_cursor: str | None = None
    prev_cursor: str | None = None
    number: int | None = None
    pages: int | None = None
    notice: str | None = None  # why this is the first page rather than the one asked for


def page_from(
    rows: list[T],
    page_size: int,
    cursor_of: Callable[[T], str],
    *,
    backwards: bool,
    from_start: bool,
    total: int | None = None,
) -> Page[T]:
    """The page of ``rows``, read in the list's order (reversed when ``backwards``: the
    page before a cursor), one more than a page when more follow; with the cursors of the
    pages before and after it."""
    has_more = len(rows) > page_size
    rows = rows[:page_size]
    if backwards:
        rows.reverse()
    at_start = from_start or (backwards and not has_more)
    at_end = (not backwards and not has_more) or not rows
    return Page(
        rows=rows,
        total=total,
        next_cursor=None if at_end or not rows else cursor_of(rows[-1]),
        prev_cursor=None if at_start or not rows else cursor_of(rows[0]),
    )


def keyset_page(
    statement: sa.Select,
    key: Sequence[Any],
    *,
    page_size: int,
    after: str = "",
    before: str = "",
    descending: bool = False,
    parse: Sequence[Callable[[Any], Any]] = (),
    total: int | None = None,
) -> Page:
    """A page of the objects ``statement`` selects, ordered by ``key`` (columns of the
    selected entity, its id last, each read back from a cursor by ``parse``), after or
    before a cursor. Raises BadCursor for a cursor that cannot be read."""
    backwards = bool(before) and not after
    cursor = after or before
    if cursor:
        values = decode_cursor(cursor, *parse)
        columns = key[0] if len(key) == 1 else sa.tuple_(*key)
        bound = values[0] if len(key) == 1 else sa.tuple_(*(sa.literal(v) for v in values))
        forward = columns < bound if descending else columns > bound
        backward = columns > bound if descending else columns < bound
        statement = statement.where(backward if backwards else forward)
    ascending = descending == backwards
    order = [column.asc() if ascending else column.desc() for column in key]
    rows = list(db.session.scalars(statement.order_by(*order).limit(page_size + 1)))
    names = [column.key for column in key]
    return page_from(
        rows,
        page_size,
        lambda row: encode_cursor(*(getattr(row, name) for name in names)),
        backwards=backwards,
        from_start=not cursor,
        total=total,
    )


def first_page_if_bad(read: Callable[[str, str], Page[T]], after: str, before: str) -> Page[T]:
    """``read(after, before)``; for a page link the portal did not make, the first page,
    with a notice saying why (the route answers 400)."""
    try:
        return read(after, before)
    except BadCursor:
        page = read("", "")
        page.notice = str(BAD_CURSOR)
        return page


def newest_first(statement: sa.Select, id_column: Any, page_size: int, form: Any) -> Page:
    """A list newest first (by ``id_column``), the page the search form's cursor asks for
    (``form.after`` / ``form.before``); a cursor the portal did not make gives the first
    page with a notice (``first_page_if_bad``)."""

    def read(after: str, before: str) -> Page:
        return keyset_page(
            statement,
            (id_column,),
            page_size=page_size,
            after=after,
            before=before,
            descending=True,
        )

    return first_page_if_bad(read, form.after.data or "", form.before.data or "")


def numbered_page(rows: list[T], number: int, page_size: int) -> Page[T]:
    """Page ``number`` (from 1; one past the last gives the last) of a list read whole."""
    pages = max(1, -(-len(rows) // page_size))
    number = min(max(1, number), pages)
    return Page(
        rows=rows[(number - 1) * page_size : number * page_size],
        total=len(rows),
        number=number,
        pages=pages,
    )


def page_number(value: str | None) -> int:
    """A page number from a link (from 1); anything else is the first page."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else 1
