"""Issue 14, "Tests that must exist": the authorisation sweep.

Every route of ``url_map`` (``routes.py``: generated, so a new route is swept without editing
this file), for every role, against the objects of another commune of the same province,
of another province and of another site of the user's own commune (``world.py``), and
against the user's own, for what those pages show. It fails when

- an object of a place that is not the user's answers anything but 403 or 404 (401 or the
  login page for a caller who is not logged in): a 200, a file, a redirect to a success
  page, or a form re-shown with its errors (which is the object's page);
- a response shows a marker of such a place (a person's or complainant's name, a title,
  a note, a file name), in a page, a fragment, an export or a PDF;
- a request writes anything to such a place's objects, or writes an audit event about one.

A path argument that the table of ``routes.py`` does not know fails the test: the sweep
never skips a route silently.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile

import pytest
import sqlalchemy as sa

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.extensions import db
from tests.security import world as w
from tests.security.routes import Route, all_routes, build_path
from tests.security.sending import foreign_scopes, is_success, send

pytestmark = pytest.mark.committing

ROLES = [role.value for role in Role] + ["anonymous", "api"]

# Cases known to fail, each expected to (strict: an unexpected pass fails, so the mark is
# removed when the fix lands). None today: items 1 and 2 of issue 14 landed.
KNOWN: dict[tuple[str, str, str | None], str] = {}

# What a role holds nation-wide by design, so no place is foreign to it there: the national
# administrator lists and writes the population register of every province (issue 14, item 1).
NATION_WIDE = {
    ("registry.list_extracts", "national_admin"),
    ("registry.post_extract", "national_admin"),
}


def _scopes_of(route: Route, variant: str) -> tuple[str, ...]:
    """The places where the world holds objects of every kind the variant takes there."""
    taken = route.object_arguments if variant == "all" else (variant,)
    return tuple(
        scope
        for scope in (*w.SCOPES, w.OTHER_CLIENT)
        if all(scope in w.KIND_SCOPES[route.object_kind(a)] for a in taken)
    )


def _param(route: Route, role: str, scope: str | None, variant: str, id: str):
    reason = KNOWN.get((route.endpoint, role, scope)) if variant == "all" else None
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(route, role, scope, variant, id=id, marks=marks)


def _cases():
    """(route, role, scope, variant): variant "all" takes every object of the route from
    ``scope``; a variant named after an argument takes that one from ``scope`` and the others
    from home (another complaint's attachment behind one's own complaint)."""
    for route in all_routes():
        if route.public:
            continue
        for role in ROLES:
            if role == "api" and not route.is_api:
                continue
            if (route.endpoint, role) in NATION_WIDE:
                continue
            if not route.object_arguments:
                yield _param(route, role, None, "all", id=f"{route}|{role}")
                continue
            for scope in _scopes_of(route, "all"):
                yield _param(route, role, scope, "all", id=f"{route}|{role}|{scope}")
            if len(route.object_arguments) > 1:
                for argument in route.object_arguments:
                    for scope in _scopes_of(route, argument):
                        if scope != w.HOME:
                            yield _param(
                                route,
                                role,
                                scope,
                                argument,
                                id=f"{route}|{role}|{scope}|{argument}",
                            )


def test_every_path_argument_is_known():
    """A route whose path names something the sweep's table does not know: add the argument
    to ``OBJECT_ARGUMENTS`` (with objects of that kind in ``world.py``) or, if it names no
    object of an area, to ``VALUE_ARGUMENTS`` in tests/security/routes.py."""
    unknown = {
        str(route): route.unknown_arguments() for route in all_routes() if route.unknown_arguments()
    }
    assert not unknown, (
        f"path arguments the authorisation sweep does not know: {unknown}; add each to "
        "OBJECT_ARGUMENTS (and objects of its kind to tests/security/world.py) or to "
        "VALUE_ARGUMENTS in tests/security/routes.py"
    )


def test_the_world_has_objects_of_every_kind_in_every_place(sweep):
    """Each object kind a route names exists at home and elsewhere, or the sweep of that
    route would prove nothing."""
    kinds = {route.object_kind(a) for route in all_routes() for a in route.object_arguments}
    for kind in kinds:
        scopes = {s for s, ids in sweep.world.ids.get(kind, {}).items() if ids}
        foreign = {w.OTHER_CLIENT} if kind == "api_feedback" else {w.NEIGHBOUR_SCOPE, w.FAR}
        assert w.HOME in scopes and foreign <= scopes, (kind, sorted(scopes))
        assert scopes == set(w.KIND_SCOPES[kind]), (kind, sorted(scopes))


# --- reading a response ---------------------------------------------------------------------


def response_text(response) -> str:
    """What a person would read in the response: the page, the export's cells, the PDF's
    text (poppler's pdftotext), the redirect's target."""
    data = response.get_data()
    kind = response.mimetype or ""
    parts = [response.headers.get("Location", ""), response.headers.get("Content-Disposition", "")]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts.extend(
                archive.read(n).decode("utf-8", "replace")
                for n in archive.namelist()
                if n.endswith(".xml")
            )
    elif data[:5] == b"%PDF-":
        parts.append(pdf_text(data))
    elif kind.startswith("image/"):
        pass
    else:
        text = data.decode("utf-8", "replace")
        parts.append(text)
        if kind == "application/json":
            try:
                parts.append(json.dumps(json.loads(text), ensure_ascii=False))
            except ValueError:
                pass
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:  # CI installs poppler-utils; a bare machine reads the raw bytes only
        return data.decode("latin-1")
    done = subprocess.run(
        [tool, "-q", "-", "-"], input=data, capture_output=True, timeout=60, check=False
    )
    return done.stdout.decode("utf-8", "replace")


# --- what a request may not touch -----------------------------------------------------------

# Tables whose rows change on any request and say nothing about a place's objects.
UNWATCHED = {
    "audit_event",
    "audit_head",
    "login_session",
    "rate_hit",
    "verification_count",
    "alembic_version",
}
KIND_TABLES = {
    "person": "person",
    "feedback": "feedback",
    "import_batch": "import_batch",
    "job": "job",
    "signing_batch": "signing_batch",
    "document": "signed_document",
    "minutes": "minutes",
    "worklist": "worklist",
    "target": "target",
    "account": "user_account",
}


def foreign_state(world: w.World, scopes: tuple[str, ...]) -> str:
    """A digest of every row that is a foreign object or refers to one (by a foreign key to
    a foreign area, site, person, complaint, list, document…): unchanged by every request of
    a user who has no business there."""
    digest = hashlib.sha256()
    for name, statement in _state_queries(world, scopes):
        rows = db.session.execute(statement).all()
        digest.update(name.encode())
        digest.update(repr(sorted(repr(tuple(row)) for row in rows)).encode())
    return digest.hexdigest()


_QUERIES: dict[tuple, list] = {}


def _state_queries(world: w.World, scopes: tuple[str, ...]) -> list:
    key = (id(world), scopes)
    if key in _QUERIES:
        return _QUERIES[key]
    foreign: dict[str, set] = {"area": set()}
    for scope in scopes:
        foreign["area"] |= world.area_ids.get(scope, set())
        for kind, table in KIND_TABLES.items():
            foreign.setdefault(table, set()).update(world.ids.get(kind, {}).get(scope, ()))
    foreign["site"] = {
        world.site_ids[code]
        for scope in scopes
        for name, code in world.codes.get(scope, {}).items()
        if name == "site"
    }
    queries = []
    for table in db.metadata.sorted_tables:
        if table.name in UNWATCHED:
            continue
        clauses = []
        own = foreign.get(table.name)
        if own and "id" in table.c:
            clauses.append(table.c.id.in_(sorted(own)))
        for column in table.c:
            for key_ in column.foreign_keys:
                ids = foreign.get(key_.column.table.name)
                if ids:
                    clauses.append(column.in_(sorted(ids)))
        numbers = set().union(*(world.id_numbers.get(s, set()) for s in scopes))
        if "id_number" in table.c and numbers:
            # Register entries carry no area yet: theirs are found by the ID numbers.
            clauses.append(table.c.id_number.in_(sorted(numbers)))
        if clauses:
            queries.append((table.name, sa.select(table).where(sa.or_(*clauses))))
    _QUERIES[key] = queries
    return queries


def last_event() -> int:
    return db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def events_about(world: w.World, scopes: tuple[str, ...], after: int) -> list[tuple]:
    entities = set().union(*(world.entities.get(s, set()) for s in scopes))
    events = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.entity_type, AuditEvent.entity_id).where(
            AuditEvent.id > after
        )
    )
    return [e for e in events if (e.entity_type, e.entity_id) in entities]


# --- the sweep ------------------------------------------------------------------------------


def _requests(sweep, route: Route, role: str, scope: str | None, variant: str):
    """(description, path) for each object of ``scope`` (paired with its own attachment, or
    with home's objects for a one-argument variant), and each value of the other arguments."""
    world = sweep.world
    objects = route.object_arguments
    value_arguments = [a for a in route.arguments if a not in objects]
    combos: list[dict[str, object]] = [{}]
    for argument in value_arguments:
        combos = [{**c, argument: v} for c in combos for v in route.value_choices(argument)]
    if scope is None:
        yield from ((str(c), build_path(route, c)) for c in combos)
        return
    first = world.ids[route.object_kind(objects[0])]
    count = len(first.get(scope, ()))
    if variant != "all":
        count = len(world.ids[route.object_kind(variant)].get(scope, ()))
    for index in range(count):
        chosen: dict[str, object] = {}
        for argument in objects:
            ids = world.ids[route.object_kind(argument)]
            if variant == "all" or argument == variant:
                place = ids.get(scope, ())
                if index >= len(place):
                    break
                chosen[argument] = place[index]
            else:
                chosen[argument] = ids[w.HOME][0]
        else:
            for combo in combos:
                values = {**chosen, **combo}
                yield str(values), build_path(route, values)


def foreign_parameters(world: w.World, scope: str) -> dict[str, object]:
    """Query and form values that name another place's area, site, person or complaint
    unit, under every name the portal reads them by."""
    codes = world.codes.get(scope, {})
    params: dict[str, object] = {}
    if "commune" in codes:
        params.update(
            commune=codes["commune"],
            area=codes.get("province", codes["commune"]),
            unit=f"health_station:{codes['commune_id']}:",
        )
    if "province" in codes:
        params["province"] = codes["province"]
    if "site" in codes:
        params.update(site=codes["site"], sites=codes["site"])
        params.setdefault("unit", f"site::{codes['site_id']}")
    persons = world.ids["person"].get(scope)
    if persons:
        params.update(person_id=str(persons[0]), person_ids=[str(p) for p in persons])
    return params


@pytest.mark.parametrize(("route", "role", "scope", "variant"), list(_cases()))
def test_sweep(sweep, route: Route, role: str, scope: str | None, variant: str):
    world = sweep.world
    foreign = foreign_scopes(role)
    markers = [w.MARKERS[s] for s in foreign if s in w.MARKERS]
    due_refusal = scope in foreign
    problems = []
    sent = 0
    writes = route.method != "GET"
    before_state = foreign_state(world, foreign) if writes else None
    requests = [
        (described, path, None) for described, path in _requests(sweep, route, role, scope, variant)
    ]
    if scope in (None, w.HOME) and role not in ("anonymous", "api"):
        # One's own pages and objects, asked about another place's by a parameter.
        requests += [
            (f"{described}, parameters of {other}", path, foreign_parameters(world, other))
            for described, path, _ in list(requests)
            for other in foreign
        ]
    for described, path, params in requests:
        sent += 1
        before_event = last_event()
        response = send(sweep, route, role, path, params)
        label = f"{route.method} {path} ({described})"
        if (due_refusal or role == "anonymous") and is_success(response):
            problems.append(f"{label}: {response.status_code} where 403/404 is due")
        text = response_text(response).lower()
        shown = [m for m in markers if m.lower() in text]
        if shown:
            problems.append(f"{label}: {response.status_code} shows {shown}")
        touched = events_about(world, foreign, before_event)
        if touched:
            problems.append(f"{label}: audit events about another place's objects {touched}")
    assert sent, f"{route} sent no request for {scope}"
    if writes and foreign_state(world, foreign) != before_state:
        problems.append(f"{route} ({role}, objects of {scope}): changed objects of {foreign}")
    assert not problems, "\n".join(problems)
