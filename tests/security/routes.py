"""The route table of the security tests, generated from the application's ``url_map``: a
route added to the portal is swept and fuzzed without editing a test. Only what no rule can
tell is written here: which routes are public, and which object each path argument names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from werkzeug.routing.converters import AnyConverter

# Routes that anyone may call without logging in, on purpose: logging in, the language
# switch, the health check, the static files, the public verification of a signed document,
# the citizens' complaint form and status page with the list of places it offers, the API's
# own description, the vaccine passport's trust and revocation lists. Everything else must
# refuse an anonymous caller.
PUBLIC = frozenset(
    {
        "static",
        "core.healthz",
        "core.post_language",
        "auth.get_login",
        "auth.post_login",
        "signing.show_verify",
        "signing.post_verify",
        "signing.verify_code",
        "feedback.new_feedback",
        "feedback.post_feedback",
        "feedback.show_status",
        "feedback.post_status",
        "feedback.show_places",
        "feedback.show_received",
        "api.show_openapi",
        # The vaccine passport's trust list and revocation list, for offline verifiers.
        "passport.show_trust_list",
        "passport.show_revocation",
    }
)

# The object each path argument names (``blueprint:argument`` where one name means two
# things): the world (``world.py``) holds objects of each kind at home and elsewhere.
OBJECT_ARGUMENTS = {
    "person_id": "person",
    "feedback_id": "feedback",
    "attachment_id": "attachment",
    "imports:batch_id": "import_batch",
    "signing:batch_id": "signing_batch",
    "job_id": "job",
    "document_id": "document",
    "minutes_id": "minutes",
    "worklist_id": "worklist",
    "target_id": "target",
    "account_id": "account",
    "api:code": "api_feedback",
    "passkey_id": "passkey",
}
# Path arguments that name no object of an area, with the values the sweep sends (the fuzz
# test sends anything); arguments of an ``any(...)`` converter take each of their values.
VALUE_ARGUMENTS = {
    "records:name": ("full_name", "birth_date"),
    "feedback:code": ("KHONGCOMA",),
    "signing:code": ("khong-co-ma",),
    "signing:token": ("khong-co-phieu",),
    "static:filename": ("css/app.css",),
}


@dataclass(frozen=True)
class Route:
    rule: str
    method: str
    endpoint: str
    arguments: tuple[str, ...]
    any_values: tuple[tuple[str, tuple[str, ...]], ...]  # arguments of an any(...) converter
    string_arguments: tuple[str, ...]  # arguments of a string or path converter

    @property
    def blueprint(self) -> str:
        return self.endpoint.rsplit(".", 1)[0] if "." in self.endpoint else self.endpoint

    @property
    def public(self) -> bool:
        return self.endpoint in PUBLIC

    @property
    def is_api(self) -> bool:
        return self.blueprint == "api"

    def key(self, argument: str) -> str:
        qualified = f"{self.blueprint}:{argument}"
        return (
            qualified if qualified in OBJECT_ARGUMENTS or qualified in VALUE_ARGUMENTS else argument
        )

    def object_kind(self, argument: str) -> str | None:
        return OBJECT_ARGUMENTS.get(self.key(argument))

    @property
    def object_arguments(self) -> tuple[str, ...]:
        return tuple(a for a in self.arguments if self.object_kind(a) is not None)

    def unknown_arguments(self) -> list[str]:
        """Arguments the tables above do not know: a new route's, to be added there."""
        known_any = {name for name, _values in self.any_values}
        return [
            a
            for a in self.arguments
            if a not in known_any
            and self.object_kind(a) is None
            and self.key(a) not in VALUE_ARGUMENTS
        ]

    def value_choices(self, argument: str) -> tuple[str, ...]:
        for name, values in self.any_values:
            if name == argument:
                return values
        return VALUE_ARGUMENTS[self.key(argument)]

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


@cache
def application():
    """An application built only to read its routes (no database is opened)."""
    from portal import create_app

    return create_app(
        {
            "TESTING": True,
            "PORTAL_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "routes",
            "HUEY_IMMEDIATE": True,
        }
    )


@cache
def all_routes() -> tuple[Route, ...]:
    routes = []
    for rule in application().url_map.iter_rules():
        any_values = tuple(
            (name, tuple(sorted(converter.items)))
            for name, converter in rule._converters.items()
            if isinstance(converter, AnyConverter)
        )
        strings = tuple(
            name
            for name, converter in rule._converters.items()
            if type(converter).__name__ in ("UnicodeConverter", "PathConverter")
        )
        # In the path's order: ``rule.arguments`` is a set, whose order differs from one
        # process to the next, and pytest-xdist's workers must collect the same test ids.
        in_path = list(rule._converters)
        arguments = tuple(
            sorted(
                rule.arguments,
                key=lambda a: (in_path.index(a) if a in in_path else len(in_path), a),
            )
        )
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(rule.rule, method, rule.endpoint, arguments, any_values, strings))
    return tuple(sorted(routes, key=lambda r: (r.rule, r.method)))


def build_path(route: Route, values: dict[str, object]) -> str:
    """The route's path with these argument values."""
    from urllib.parse import quote

    def replace(match: re.Match) -> str:
        name = match.group(1).rsplit(":", 1)[-1]
        return quote(str(values[name]), safe="/" if name == "filename" else "")

    return re.sub(r"<([^>]+)>", replace, route.rule)


# --- the names a route may read from its query string or form ------------------------------

PORTAL = Path(__file__).resolve().parents[2] / "portal"
_READS = re.compile(
    r"""(?:request\.(?:args|form|values|files)|\bargs|\bform(?:data)?)"""
    r"""(?:\.get(?:list)?\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"""
)


@cache
def parameter_names() -> tuple[str, ...]:
    """Every name the portal reads from a request: the fields of its form classes, and the
    names its code reads with ``request.args.get("...")`` and the like (a scan of the
    source), so that a parameter a new route reads is fuzzed too."""
    import wtforms

    application()  # imports every form class

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names: set[str] = set()
    for cls in subclasses(wtforms.Form):
        if not cls.__module__.startswith("portal"):
            continue
        for name in dir(cls):
            if isinstance(getattr(cls, name, None), wtforms.fields.core.UnboundField):
                names.add(name)
    for path in PORTAL.rglob("*.py"):
        names.update(_READS.findall(path.read_text(encoding="utf-8")))
    names.discard("csrf_token")
    return tuple(sorted(names))


@cache
def file_fields() -> tuple[str, ...]:
    """The form fields that take an uploaded file."""
    import wtforms
    from flask_wtf.file import FileField

    application()

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    names = set()
    for cls in subclasses(wtforms.Form):
        for name in dir(cls):
            field = getattr(cls, name, None)
            if isinstance(field, wtforms.fields.core.UnboundField) and issubclass(
                field.field_class, (FileField, wtforms.FileField)
            ):
                names.add(name)
    return tuple(sorted(names))
