"""Every URL of a domain is listed in its ``blueprint.py`` (STYLE.md, "Routes listed where
the blueprint is"): no route module attaches itself to a blueprint when it is imported."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PORTAL = Path(__file__).resolve().parents[2] / "portal"


def _declared(blueprint_module: Path) -> set[tuple[str, str]]:
    """The (rule, endpoint) pairs of the module's ``bp.add_url_rule`` calls."""
    declared = set()
    for node in ast.walk(ast.parse(blueprint_module.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_url_rule"
        ):
            rule, endpoint = (ast.literal_eval(argument) for argument in node.args[:2])
            declared.add((rule, endpoint))
    return declared


def test_every_url_is_declared_in_its_domains_blueprint_module(app):
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        name, endpoint = rule.endpoint.split(".", 1)
        blueprint = app.blueprints[name]
        module = PORTAL / name / "blueprint.py"
        assert blueprint.import_name == f"portal.{name}.blueprint", rule.endpoint
        path = rule.rule.removeprefix(blueprint.url_prefix or "")
        if (path, endpoint) not in _declared(module):
            found.append(f"{rule.rule} ({rule.endpoint})")
    assert found == [], "URLs registered outside their domain's blueprint.py"


def test_no_route_module_is_imported_for_its_side_effects():
    """The app factory imports what it uses: the one import kept for its effect is pyHanko's,
    quietly (see ``_import_pyhanko_quietly``)."""
    factory = (PORTAL / "__init__.py").read_text()
    side_effects = re.findall(r"^.*noqa: F401.*$", factory, re.M)
    assert side_effects == ["        import pyhanko.sign.signers.pdf_cms  # noqa: F401"]


def test_only_blueprint_modules_create_blueprints_or_route_views():
    offenders = []
    for path in sorted(PORTAL.rglob("*.py")):
        if path.name == "blueprint.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            named = isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id == "Blueprint")
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "add_url_rule")
            )
            decorated = isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call)
                and isinstance(d.func, ast.Attribute)
                and d.func.attr in ("route", "get", "post", "put", "patch", "delete")
                and isinstance(d.func.value, ast.Name)
                and d.func.value.id == "bp"
                for d in node.decorator_list
            )
            if named or decorated:
                offenders.append(f"{path.relative_to(PORTAL)}:{node.lineno}")
    assert offenders == []
