"""Issue 14, "Tests that must exist": malformed values to every query parameter and form
field of every route, and not one answer 500.

The routes come from ``url_map`` and the parameter names from the portal itself
(``routes.parameter_names``: every field of its form classes and every name its code reads
from a request), so a new route or parameter is fuzzed without editing this file. Each
example sends a random half of the names, each with a value meant to break something: very
long strings, NUL bytes, percent-encodings that are not UTF-8, negative and huge numbers,
impossible dates, repeated keys, combining characters, paths, markup; as a page and as an
htmx fragment; a POST with a valid CSRF token (or a broken one), as a form, a multipart
upload or a raw body. String path arguments (a complaint's code, a field's name) are fuzzed
too; id arguments take ids of objects at home and elsewhere, and ids that do not exist.

Every role's home user, a visitor and an API client (on the API) call every route: a route's
code path differs by role (403 before or after reading the form). Hypothesis is
derandomised, so a failure is the same on every run and in CI.
"""

from __future__ import annotations

import io
import os
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import strategies as st

from portal.auth.models import Role
from tests.security import world as w
from tests.security.routes import Route, all_routes, build_path, file_fields, parameter_names

pytestmark = pytest.mark.committing

ROLES = [role.value for role in Role] + ["anonymous", "api"]
# Examples per route and role: enough for CI to run the suite in about a minute; a deeper
# run (FUZZ_EXAMPLES=100, FUZZ_SEED=… for other draws than CI's) when hunting.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
SEED = os.environ.get("FUZZ_SEED")

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "x" * 5000,
    "9" * 400,
    "../../../../etc/passwd",
    "..\\..\\",
    "-1",
    "0",
    "-0",
    "2147483648",
    "-2147483649",
    "9223372036854775808",
    "1e309",
    "NaN",
    "inf",
    "0x1F",
    "1.5",
    "31/02/2021",
    "2021-02-31",
    "29/02/2021",
    "00/00/0000",
    "32/13/2021",
    "1/1/10000",
    "9999-12-31",
    "0001-01-01",
    "2021-13-01",
    "12/2021/31",
    "<script>alert(1)</script>",
    '" onmouseover="x',
    "'; DROP TABLE person; --",
    "%",
    "%%",
    "{{7*7}}",
    "${7*7}",
    "=cmd|' /C calc'!A0",
    "e\u0301\u0301\u0301" * 50,
    "Nguye\u0302\u0303n",
    "\ufeff",
    "\u202e",
    "\u200b" * 20,
    "\ud7ff",
    "😀" * 100,
    "true",
    "[]",
    "{}",
    "null",
    "None",
    "::",
    "site::",
    "health_station::",
    "province:abc:",
    "pool::",
    "health_station:99999999999999999999:",
    "asc",
    "desc",
    "//evil.example",
    "javascript:alert(1)",
    "\r\nSet-Cookie: x=1",
]
# Query-string fragments that are not UTF-8 or not valid percent-encoding, added raw.
RAW_QUERY = [
    "q=%ff%fe",
    "%ff=1",
    "q=%",
    "q=%zz",
    "page=%c0%af",
    "area=%e2%82",
    "after=%ed%a0%80",
    "commune[]=1",
    "status=a&status=b",
    "&&&",
    "=",
    "q",
]
RAW_BODY = [
    b"reason=%ff%fe&note=%c0%af",
    b"%ff=%fe",
    b"a=%",
    b"\xff\xfe\x00",
    b"person_ids=1&person_ids=x&person_ids=",
    b"version=%ed%a0%80",
]

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
value = st.one_of(
    st.sampled_from(NASTY),
    text,
    st.integers().map(str),
    st.dates().map(lambda d: d.strftime("%d/%m/%Y")),
)
values = st.one_of(value, st.lists(value, min_size=2, max_size=3))


def _cases():
    for route in all_routes():
        for role in ROLES:
            if role == "api" and not route.is_api:
                continue
            yield pytest.param(route, role, id=f"{route}|{role}")


def _path_values(draw, route: Route, world: w.World) -> dict[str, object]:
    chosen: dict[str, object] = {}
    for argument in route.arguments:
        kind = route.object_kind(argument)
        if kind is not None:
            ids = [i for place in world.ids.get(kind, {}).values() for i in place]
            nonsense = (
                ["NOPE", ""]
                if kind == "api_feedback"
                else [0, 2147483647, 2147483648, 999999, 99999999999999999999]
            )
            chosen[argument] = draw(st.sampled_from(ids + nonsense))
        elif argument in route.string_arguments and argument != "filename":
            chosen[argument] = draw(
                st.one_of(
                    st.sampled_from(route.value_choices(argument)),
                    value.filter(lambda v: v and "/" not in v),
                )
            )
        else:
            chosen[argument] = draw(st.sampled_from(route.value_choices(argument)))
    return chosen


def _query(params: dict[str, object], raw: list[str]) -> str:
    parts = []
    for name, given_value in params.items():
        for item in given_value if isinstance(given_value, list) else [given_value]:
            parts.append(f"{quote(name)}={quote(str(item), safe='')}")
    return "&".join(parts + raw)


@pytest.mark.parametrize(("route", "role"), list(_cases()))
def test_no_malformed_value_makes_a_500(sweep, route: Route, role: str):
    world = sweep.world
    client = sweep.clients[role]
    names = parameter_names()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=SEED is None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data):
        draw = data.draw
        path = build_path(route, _path_values(draw, route, world))
        params = {n: draw(values, label=n) for n in names if draw(st.booleans(), label="+" + n)}
        headers = {}
        if role == "api":
            headers["Authorization"] = f"Bearer {world.api_token}"
        if draw(st.booleans(), label="htmx"):
            headers.update(
                {
                    "HX-Request": "true",
                    "HX-Target": draw(st.sampled_from(["", "results", "x" * 300])),
                }
            )
            if draw(st.booleans(), label="HX-Current-URL"):
                headers["HX-Current-URL"] = "http://localhost/" + quote(draw(value))
        raw = draw(st.lists(st.sampled_from(RAW_QUERY), max_size=3), label="raw query")
        if route.method == "GET":
            description = f"GET {path}?{_query(params, raw)} {headers}"
            note(description)
            response = client.get(path, query_string=_query(params, raw), headers=headers)
        elif route.is_api:
            body = draw(
                st.one_of(
                    st.just({}),
                    st.dictionaries(st.sampled_from(names), value),
                    st.lists(value, max_size=3),
                ),
                label="json",
            )
            headers["Idempotency-Key"] = draw(st.sampled_from(["fuzz", "", "x" * 200, "é"]))
            description = f"POST {path} json={body!r} {headers}"
            note(description)
            response = client.post(path, json=body, headers=headers)
        else:
            token = draw(st.sampled_from([sweep.tokens[role]] * 4 + ["", "x" * 100]), label="csrf")
            how = draw(st.sampled_from(["form", "multipart", "raw"]), label="body")
            if how == "raw":
                body = draw(st.sampled_from(RAW_BODY)) + f"&csrf_token={token}".encode()
                description = f"POST {path} raw {body!r} {headers}"
                note(description)
                response = client.post(
                    path,
                    data=body,
                    headers=headers,
                    content_type="application/x-www-form-urlencoded",
                )
            else:
                form: dict[str, object] = {"csrf_token": token, **params}
                if how == "multipart":
                    content = draw(
                        st.sampled_from(
                            [
                                b"",
                                b"\x00" * 10,
                                b"%PDF-1.4\n",
                                b"PK\x03\x04garbage",
                                b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
                                b"a,b\n1,2\n",
                                "é,ü\n".encode(),
                                w.upload_file(world, route.endpoint, w.SCOPES)[0],
                            ]
                        ),
                        label="file",
                    )
                    filename = draw(
                        st.sampled_from(
                            ["a.pdf", "../../x.xlsx", "", "é.csv", "a" * 300 + ".png", "x.exe"]
                        )
                    )
                    for name in file_fields():
                        form[name] = (io.BytesIO(content), filename)
                description = f"POST {path} {how} {form!r:.2000} {headers}"
                note(description)
                response = client.open(path, method=route.method, data=form, headers=headers)
        assert response.status_code < 500, f"{response.status_code} for {description:.3000}"

    if SEED is not None:
        run = seed(int(SEED))(run)
    run()
