"""Issue 15, item 5: every numeric id in a path goes through the ``id`` converter, whose
bound keeps a number beyond the id columns' range from reaching the database: such a path
is not found (404) for an administrator who could open any object of that kind, never a
500. The routes come from ``url_map``: a new route with an id is checked without editing
this file."""

from __future__ import annotations

import re

import pytest

from portal.core.ids import MAX_ID, IdConverter
from tests.security.routes import PORTAL, Route, all_routes, application, build_path
from tests.security.sending import send

pytestmark = pytest.mark.committing

TOO_BIG = "99999999999999999999"
# Past the bound but still a 64-bit integer: SQLite would read it, PostgreSQL's INTEGER not.
PAST_THE_BOUND = str(MAX_ID + 1)


def _id_arguments(route: Route) -> tuple[str, ...]:
    rule = next(r for r in application().url_map.iter_rules() if r.rule == route.rule)
    return tuple(
        name for name, converter in rule._converters.items() if isinstance(converter, IdConverter)
    )


ROUTES = [r for r in all_routes() if _id_arguments(r)]


def test_no_route_reads_a_number_without_the_id_converter():
    """``<int:…>`` (or any other number converter) in a path has no bound the database
    shares; ``<id:…>`` has."""
    assert ROUTES
    for rule in application().url_map.iter_rules():
        others = {
            name: type(c).__name__
            for name, c in rule._converters.items()
            if type(c).__name__ in ("IntegerConverter", "FloatConverter")
        }
        assert not others, (rule.rule, others)
    sources = "\n".join(path.read_text(encoding="utf-8") for path in PORTAL.rglob("*.py"))
    assert not re.search(r"<int[:(]", sources)


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("number", [TOO_BIG, PAST_THE_BOUND, "0", "007"])
def test_an_id_out_of_range_is_not_found(sweep, route: Route, number: str):
    values = {a: v[0] for a, v in route.any_values}
    for argument in route.arguments:
        if argument not in values:
            values[argument] = (
                route.value_choices(argument)[0]
                if argument not in _id_arguments(route)
                else _home_id(sweep, route, argument)
            )
    for argument in _id_arguments(route):
        path = build_path(route, {**values, argument: number})
        response = send(sweep, route, "admin", path)
        assert response.status_code == 404, (str(route), path, response.status_code)


def _home_id(sweep, route: Route, argument: str) -> object:
    """An object of that kind at home, so that only the argument under test is wrong."""
    from tests.security import world as w

    kind = route.object_kind(argument)
    ids = sweep.world.ids.get(kind, {}).get(w.HOME) or [1]
    return ids[0]
