"""The main menu: one entry per page, each shown when its domain's own permission rule lets
the user open it (never a list of roles kept here). The template only draws it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

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

    def url(self) -> str:
        return url_for(self.endpoint, **self.args)


def _in(blueprint: str) -> Callable[[Here], bool]:
    return lambda here: here.blueprint == blueprint


def _at(endpoint: str) -> Callable[[Here], bool]:
    return lambda here: here.endpoint == endpoint


@cache
def menu() -> tuple[MenuItem, ...]:
    """Every entry, in the menu's order, whoever may see it."""
    # Function-local: core sits below the domains, whose rules the menu asks (built once,
    # at the first request, when every domain is loaded).
    from portal.audit.permissions import can_read_trail
    from portal.auth.permissions import can_manage_accounts
    from portal.dashboard.permissions import can_see_dashboard
    from portal.feedback.permissions import can_use_queue
    from portal.imports.permissions import can_import
    from portal.records.permissions import can_list_records
    from portal.registry.permissions import can_import_extract
    from portal.signing.permissions import can_sign_anything
    from portal.worklists.permissions import can_review, can_see_decision_list, can_see_handovers

    def decision_list(slug: str) -> MenuItem:
        return MenuItem(
            _l("To correct") if slug == "corrections" else _l("Register updates"),
            "worklists.show_decision_list",
            lambda user: can_see_decision_list(user, slug),
            lambda here: here.slug == slug,
            {"slug": slug},
        )

    return (
        MenuItem(_l("Dashboard"), "dashboard.show_dashboard", can_see_dashboard, _in("dashboard")),
        MenuItem(_l("Records"), "records.list_records", can_list_records, _in("records")),
        MenuItem(
            _l("Register extracts"),
            "registry.list_extracts",
            can_import_extract,
            _at("registry.list_extracts"),
        ),
        MenuItem(
            _l("Identity review"), "worklists.show_review", can_review, _at("worklists.show_review")
        ),
        MenuItem(
            _l("Handover"),
            "worklists.list_handovers",
            can_see_handovers,
            lambda here: "handover" in here.endpoint,
        ),
        MenuItem(_l("Excel import"), "imports.list_imports", can_import, _in("imports")),
        decision_list("corrections"),
        decision_list("register-updates"),
        MenuItem(
            _l("Awaiting signature"), "signing.show_awaiting", can_sign_anything, _in("signing")
        ),
        MenuItem(_l("Complaints"), "feedback.show_queue", can_use_queue, _in("feedback")),
        MenuItem(
            _l("Accounts"),
            "auth.list_accounts",
            can_manage_accounts,
            lambda here: here.endpoint.startswith("auth.") and "account" in here.endpoint,
        ),
        MenuItem(_l("Audit trail"), "audit.show_trail", can_read_trail, _in("audit")),
    )


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
