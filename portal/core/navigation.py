"""The main menu: one entry per page, each shown when its domain's own permission rule lets
the user open it (never a list of roles kept here). Each domain lists its entries in its
``permissions.py``; the template only draws them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import request
from flask_login import current_user

from portal.core.domains import domain_modules
from portal.core.labels import translated
from portal.core.page_globals import url_for


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool


@dataclass(frozen=True)
class Here:
    """Where the request is, as the entries' ``active`` tests read it."""

    endpoint: str
    blueprint: str
    slug: str | None


@dataclass(frozen=True)
class MenuItem:
    label: Any
    endpoint: str
    # The domain's permission function: the link is shown when it says yes.
    allowed: Callable[[Any], bool]
    active: Callable[[Here], bool]
    args: Mapping[str, Any] = field(default_factory=dict)
    # Where in the menu, from the left: the domains' entries interleave.
    position: int = 0

    def url(self) -> str:
        return url_for(self.endpoint, **self.args)


def in_blueprint(blueprint: str) -> Callable[[Here], bool]:
    return lambda here: here.blueprint == blueprint


def at_endpoint(endpoint: str) -> Callable[[Here], bool]:
    return lambda here: here.endpoint == endpoint


@cache
def menu() -> tuple[MenuItem, ...]:
    """Every entry, in the menu's order, whoever may see it: each domain lists its own in
    its ``permissions.py`` (``MENU``), beside the rules that show them."""
    items = [
        item for module in domain_modules("permissions") for item in getattr(module, "MENU", ())
    ]
    return tuple(sorted(items, key=lambda item: item.position))


@cache
def _other_rules() -> dict[str, Callable[[Any], bool]]:
    """The rules of the pages and actions not in the menu that lower domains' pages link to:
    each domain lists its own in its ``permissions.py`` (``LINKED``, endpoint: rule)."""
    return {
        endpoint: rule
        for module in domain_modules("permissions")
        for endpoint, rule in getattr(module, "LINKED", {}).items()
    }


def may_open(user: Any, endpoint: str) -> bool:
    """Whether ``user`` may open ``endpoint`` by its domain's rule (the menu's entry, or the
    domain's ``LINKED``): a page of a lower domain links to one above it without importing
    its rules."""
    rule = _other_rules().get(endpoint)
    if rule is not None and rule(user):
        return True
    return any(item.endpoint == endpoint and item.allowed(user) for item in menu())


def navigation() -> list[NavLink]:
    # The user once, not through the proxy at each of the dozen checks below.
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return []
    here = Here(
        request.endpoint or "", request.blueprint or "", (request.view_args or {}).get("slug")
    )
    labels = translated(_labels())
    return [
        NavLink(labels[index], item.url(), item.active(here))
        for index, item in enumerate(menu())
        if item.allowed(user)
    ]


@cache
def _labels() -> dict[int, Any]:
    """The entries' words by their place in the menu: translated once a catalogue."""
    return {index: item.label for index, item in enumerate(menu())}
