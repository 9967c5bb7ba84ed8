"""Reading the record list: filters, search and keyset pagination, scoped in SQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from portal.areas.models import Area, Site
from portal.auth.models import User
from portal.core import paging
from portal.core.ids import decode_cursor, encode_cursor
from portal.core.paging import Page
from portal.core.sql import StatementCache
from portal.core.text import fold
from portal.extensions import db
from portal.records.models import STATUS_GROUPS, Dose, Person, PersonStatus
from portal.records.permissions import person_scope, reach

ID_QUERY = re.compile(r"^[0-9]{3,12}$")


class position_in(FunctionElement):
    """Where a substring starts in a string (from 1; 0 when absent): SQL instr / strpos.

    The name search is a plain substring test on ``name_folded``. It is written this way,
    not as ``LIKE '%term%'``, on purpose: no index can serve either, so it is evaluated
    on the entries of the scope's index (the commune's or the province's), which carry
    ``name_folded`` for that reason; the cost is bounded by the size of the scope. With
    LIKE, PostgreSQL would pick the trigram index whenever a term looks rare, and
    Vietnamese names are made of so few syllables that their trigrams are all common:
    that plan read the posting lists of the whole country (about 40 ms for a 7-row
    search on 1,000,000 persons, and growing with the country, against 10 ms for the
    commune's 100,000 index entries). The term needs no LIKE escaping either.
    """

    type = sa.Integer()
    inherit_cache = True


@compiles(position_in)
def _instr(element, compiler, **kw):
    return f"instr({compiler.process(element.clauses, **kw)})"


@compiles(position_in, "postgresql")
def _strpos(element, compiler, **kw):
    return f"strpos({compiler.process(element.clauses, **kw)})"


@dataclass
class Filters:
    q: str = ""
    status: str = ""
    commune: str = ""
    site: str = ""
    sort: str = "name"
    after: str = ""
    before: str = ""


# sort name -> (column, descending, how a cursor value is read back)
SORT_COLUMNS: dict[str, tuple[Any, bool, Callable[[Any], Any]]] = {
    "name": (Person.name_sort, False, str),
    "-name": (Person.name_sort, True, str),
    "birth": (Person.birth_date, False, date.fromisoformat),
    "-birth": (Person.birth_date, True, date.fromisoformat),
}


def search_clause(q: str) -> sa.ColumnElement[bool] | None:
    """The search box of every person list: an ID-number prefix when the text is digits,
    else a name without diacritics, case or extra spaces; None for an empty box."""
    q = (q or "").strip()
    if not q:
        return None
    compact = q.replace(" ", "")
    if ID_QUERY.match(compact):
        return Person.id_number.like(compact + "%")
    return position_in(Person.name_folded, fold(q)) > 0


def filter_clauses(user: User, filters: Filters) -> list[sa.ColumnElement[bool]]:
    """The user's scope and the filters, as SQL. The scope's ids are bound here and now."""
    clauses: list[sa.ColumnElement[bool]] = [person_scope(user)]
    search = search_clause(filters.q)
    if search is not None:
        clauses.append(search)
    if filters.status in STATUS_GROUPS:
        clauses.append(Person.status.in_(STATUS_GROUPS[filters.status]))
    elif filters.status:
        clauses.append(Person.status == PersonStatus(filters.status))
    if filters.commune:
        clauses.append(
            Person.commune_id
            == sa.select(Area.id).where(Area.code == filters.commune).scalar_subquery()
        )
    if filters.site:
        clauses.append(
            sa.exists().where(
                Dose.person_id == Person.id,
                Dose.site_id
                == sa.select(Site.id).where(Site.code == filters.site).scalar_subquery(),
            )
        )
    return clauses


def count_statement(clauses: list[sa.ColumnElement[bool]]) -> sa.Select:
    return sa.select(sa.func.count()).select_from(Person).where(*clauses)


def count_persons(clauses: list[sa.ColumnElement[bool]]) -> int:
    return db.session.scalar(count_statement(clauses)) or 0


# The record list's statements, kept built by what they are built from (every request of
# the list runs them; see core.sql.StatementCache).
_LIST_STATEMENTS = StatementCache()


def list_persons(user: User, filters: Filters, page_size: int) -> Page:
    """The record list's page: rows of ``LIST_COLUMNS``. Its statements depend on the
    user through the area the user reaches only, and on the filters' values."""
    area = reach(user)
    key = (area.kind, area.id, astuple(filters), page_size)

    def build() -> tuple[sa.Select, PageQuery]:
        clauses = filter_clauses(user, filters)
        return count_statement(clauses), page_query(clauses, filters, page_size, LIST_COLUMNS)

    count, query = _LIST_STATEMENTS.get(key, build)
    total = db.session.scalar(count) or 0
    if total == 0 and not (filters.after or filters.before):
        # Nothing matches (a mistyped name, often): looking for a page would read the
        # scope's index a second time to find nothing.
        return Page(rows=[], total=0)
    return page_from(list(db.session.execute(query.statement).all()), query, total)


# The record list's columns: what its table shows, what its cursor reads, and each person's
# dose count (from the index on dose.person_id), in the page's one statement, as rows
# rather than Person objects: the list is read, never changed.
LIST_COLUMNS = (
    Person.id,
    Person.full_name,
    Person.birth_date,
    Person.id_number,
    Person.commune_id,
    Person.name_sort,
    # The codes as stored, not made into enum members (three per row, for a page that only
    # looks their labels up: the label tables' keys are string enums, equal to the codes).
    *(
        sa.type_coerce(column, sa.String).label(column.key)
        for column in (Person.sex, Person.birth_precision, Person.status)
    ),
    sa.select(sa.func.count())
    .where(Dose.person_id == Person.id)
    .correlate(Person)
    .scalar_subquery()
    .label("doses"),
)


@dataclass(frozen=True)
class PageQuery:
    """The statement of a page of persons, and how its rows become the page."""

    statement: sa.Select
    page_size: int
    sort_key: str  # the attribute a cursor is made of
    backwards: bool  # a page before a cursor: read in reverse order
    from_start: bool  # no cursor: the first page


def page_query(
    clauses: list[sa.ColumnElement[bool]],
    filters: Filters,
    page_size: int,
    columns: tuple[Any, ...] | None = None,
) -> PageQuery:
    """The statement of the page of the persons the clauses find, in the filters' order,
    from their cursor: Person objects, or rows of ``columns`` (which hold the sort column).
    Raises BadCursor for a cursor that cannot be read."""
    column, descending, parse = SORT_COLUMNS[filters.sort]

    key = sa.tuple_(column, Person.id)
    backwards = bool(filters.before) and not filters.after
    # Two steps: the page's ids first, walking the sort index, whose entries carry
    # name_folded so that a search is filtered on the index alone (an index-only scan;
    # a rare name no longer costs one table read per person of the commune); then only
    # those rows are read whole.
    ids = sa.select(Person.id).where(*clauses)
    if filters.after or filters.before:
        value, row_id = decode_cursor(filters.after or filters.before, parse)
        bound = sa.tuple_(sa.literal(value, type_=column.type), sa.literal(row_id))
        forward_cmp = key < bound if descending else key > bound
        backward_cmp = key > bound if descending else key < bound
        ids = ids.where(backward_cmp if backwards else forward_cmp)
    ascending = descending == backwards
    order = (column.asc(), Person.id.asc()) if ascending else (column.desc(), Person.id.desc())
    page_ids = ids.order_by(*order).limit(page_size + 1).correlate(None).scalar_subquery()
    statement = (
        (sa.select(*columns) if columns else sa.select(Person))
        .where(Person.id.in_(page_ids))
        .order_by(*order)
    )
    return PageQuery(
        statement, page_size, column.key, backwards, not (filters.after or filters.before)
    )


def page_from(rows: list[Any], query: PageQuery, total: int) -> Page:
    """The page of the rows ``query.statement`` read (one more than a page when there are
    more), with the cursors of the pages before and after it."""
    return paging.page_from(
        rows,
        query.page_size,
        lambda person: encode_cursor(getattr(person, query.sort_key), person.id),
        backwards=query.backwards,
        from_start=query.from_start,
        total=total,
    )


def page_of(
    clauses: list[sa.ColumnElement[bool]], filters: Filters, page_size: int, total: int = 0
) -> Page:
    """A page of the persons the clauses find (Person objects), in the filters' order,
    from their cursor."""
    query = page_query(clauses, filters, page_size)
    return page_from(list(db.session.scalars(query.statement)), query, total)


def dose_counts(person_ids: list[int]) -> dict[int, int]:
    if not person_ids:
        return {}
    rows = db.session.execute(
        sa.select(Dose.person_id, sa.func.count())
        .where(Dose.person_id.in_(person_ids))
        .group_by(Dose.person_id)
    )
    return {person_id: count for person_id, count in rows}


def area_names(area_ids: set[int]) -> dict[int, str]:
    if not area_ids:
        return {}
    rows = db.session.execute(sa.select(Area.id, Area.name).where(Area.id.in_(area_ids)))
    return {area_id: name for area_id, name in rows}
