"""The police review list as a file: both sides of each difference, and how they differ."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.core.clock import to_vietnam
from portal.core.export import Column, birth_value
from portal.core.labels import result_label, sex_label, value_label
from portal.extensions import db
from portal.records.models import Person
from portal.records.queries import Filters, page_of
from portal.registry.models import MatchResult, RegisterEntry
from portal.worklists.queries import results_and_entries

BATCH = 1000


class ReviewRow(NamedTuple):
    person: Person
    result: MatchResult | None
    entry: RegisterEntry | None


def review_batches(clauses: list[sa.ColumnElement[bool]]) -> Iterator[list[ReviewRow]]:
    """The list in the page's order, read page by page (keyset) as the screen reads it."""
    filters = Filters()
    while True:
        page = page_of(clauses, filters, BATCH)
        results, entries = results_and_entries(page.rows)
        yield [ReviewRow(p, results.get(p.id), entries.get(p.id_number or "")) for p in page.rows]
        for obj in (*page.rows, *results.values(), *entries.values()):
            db.session.expunge(obj)
        if not page.next_cursor:
            return
        filters.after = page.next_cursor


def _result(value) -> str:
    return result_label(value) if value is not None else ""


def _outcome(result: MatchResult | None) -> str:
    if result is None:
        return ""
    return value_label("outcome", result.outcome)


def _checked_at(result: MatchResult | None) -> datetime | None:
    if result is None:
        return None
    # Stored in UTC; shown, like on every page, in the portal's time zone. Excel has none.
    return to_vietnam(result.checked_at).replace(tzinfo=None)


COLUMNS = [
    Column(_l("Full name (record)"), lambda r: r.person.full_name, 26),
    Column(_l("Full name (register)"), lambda r: r.entry.full_name if r.entry else "", 26),
    Column(
        _l("Date of birth (record)"),
        lambda r: birth_value(r.person.birth_date, r.person.birth_precision),
        14,
    ),
    Column(
        _l("Date of birth (register)"),
        lambda r: birth_value(r.entry.birth_date, r.entry.birth_precision) if r.entry else "",
        14,
    ),
    Column(_l("Sex (record)"), lambda r: sex_label(r.person.sex), 10),
    Column(_l("Sex (register)"), lambda r: sex_label(r.entry.sex) if r.entry else "", 10),
    Column(_l("ID number"), lambda r: r.person.id_number or "", 16),
    Column(_l("Name comparison"), lambda r: _result(r.result and r.result.name_result), 22),
    Column(
        _l("Date of birth comparison"), lambda r: _result(r.result and r.result.birth_result), 22
    ),
    Column(_l("Sex comparison"), lambda r: _result(r.result and r.result.sex_result), 14),
    Column(_l("Outcome"), lambda r: _outcome(r.result), 22),
    Column(_l("Checked at"), lambda r: _checked_at(r.result), 20),
]
