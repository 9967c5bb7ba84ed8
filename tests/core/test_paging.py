"""Issue 16: one keyset pagination helper (core.paging) for every paged list."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.areas.models import Area
from portal.core.ids import encode_cursor
from portal.core.paging import (
    BadCursor,
    Page,
    first_page_if_bad,
    keyset_page,
    numbered_page,
    page_number,
)
from portal.extensions import db


def _walk(key, descending: bool, size: int = 2) -> tuple[list[Page], list[int]]:
    """Every page, forwards from the first, and the ids in the list's own order."""
    order = [column.desc() if descending else column.asc() for column in key]
    expected = list(db.session.scalars(sa.select(Area.id).order_by(*order)))
    parse = [str] * (len(key) - 1)
    pages = [keyset_page(sa.select(Area), key, page_size=size, descending=descending, parse=parse)]
    while pages[-1].next_cursor:
        pages.append(
            keyset_page(
                sa.select(Area),
                key,
                page_size=size,
                descending=descending,
                parse=parse,
                after=pages[-1].next_cursor,
            )
        )
    return pages, expected


@pytest.mark.parametrize(
    ("key", "descending"),
    [((Area.id,), True), ((Area.id,), False), ((Area.code, Area.id), False)],
    ids=["id-newest-first", "id-oldest-first", "code-then-id"],
)
def test_pages_cover_the_list_once_forwards_and_backwards(app, key, descending):
    pages, expected = _walk(key, descending)
    assert len(expected) > 4  # several pages
    assert [a.id for page in pages for a in page.rows] == expected
    assert pages[0].prev_cursor is None  # the first page has nothing before it
    assert pages[-1].next_cursor is None  # nor the last after it
    assert all(page.prev_cursor for page in pages[1:])
    # Back from the last page, by its "previous" links, to the first.
    back = [pages[-1]]
    parse = [str] * (len(key) - 1)
    while back[-1].prev_cursor:
        back.append(
            keyset_page(
                sa.select(Area),
                key,
                page_size=2,
                descending=descending,
                parse=parse,
                before=back[-1].prev_cursor,
            )
        )
    assert [p.rows for p in reversed(back)] == [p.rows for p in pages]


def test_a_cursor_round_trips_its_values(app):
    first = keyset_page(sa.select(Area), (Area.code, Area.id), page_size=1, parse=[str])
    row = first.rows[0]
    assert first.next_cursor == encode_cursor(row.code, row.id)


@pytest.mark.parametrize(
    "cursor",
    ["x", "%%%", encode_cursor("a", 1), encode_cursor(0), encode_cursor(-5), "x" * 5000],
)
def test_a_tampered_cursor_is_refused_and_gives_the_first_page_with_a_notice(app, cursor):
    with pytest.raises(BadCursor):
        keyset_page(sa.select(Area), (Area.id,), page_size=2, after=cursor)

    def read(after: str, before: str) -> Page:
        return keyset_page(sa.select(Area), (Area.id,), page_size=2, after=after, before=before)

    with app.test_request_context():
        page = first_page_if_bad(read, cursor, "")
    assert page.notice == "Liên kết trang không hợp lệ. Vui lòng bắt đầu lại từ trang đầu."
    assert page.rows == read("", "").rows and page.prev_cursor is None


def test_numbered_pages_of_a_list_read_whole():
    rows = list(range(1, 8))
    assert numbered_page(rows, 1, 3) == Page(rows=[1, 2, 3], total=7, number=1, pages=3)
    assert numbered_page(rows, 3, 3).rows == [7]
    assert numbered_page(rows, 9, 3).number == 3  # past the end: the last page
    assert numbered_page([], 1, 3) == Page(rows=[], total=0, number=1, pages=1)
    for text, number in (
        ("2", 2),
        ("", 1),
        (None, 1),
        ("x", 1),
        ("-1", 1),
        ("²", 1),
        ("9" * 40, 1),
    ):
        assert page_number(text) == number
