"""The main menu, built from each domain's own permission rules: the template only draws it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavLink:
    label: str
    url: str
    active: bool


def navigation() -> list[NavLink]:
    # The user once, not through the proxy at each of the dozen checks below.
    user = current_user._get_current_object()
    if not user.is_authenticated:
        return []
    from portal.audit.permissions import can_read_trail
    from portal.auth.models import Role
    from portal.auth.permissions import can_manage_accounts
    from portal.feedback.permissions import can_use_queue
    from portal.imports.permissions import can_import
    from portal.registry.permissions import can_import_extract
    from portal.signing.permissions import can_sign_anything
    from portal.worklists.permissions import can_review, can_see_decision_list

    endpoint = request.endpoint or ""
    slug = (request.view_args or {}).get("slug")
    role = user.role
    items: list[tuple[bool, object, str, dict[str, Any], bool]] = [
        (True, _l("Dashboard"), "dashboard.show_dashboard", {}, request.blueprint == "dashboard"),
        (True, _l("Records"), "records.list_records", {}, request.blueprint == "records"),
        (can_import_extract(user), _l("Register extracts"), "registry.list_extracts",
         {}, endpoint == "registry.list_extracts"),
        (can_review(user), _l("Identity review"), "worklists.show_review", {},
         endpoint == "worklists.show_review"),
        (role in (Role.POLICE, Role.HEALTH_STATION), _l("Handover"),
         "worklists.list_handovers", {}, "handover" in endpoint),
        (can_import(user), _l("Excel import"), "imports.list_imports", {},
         request.blueprint == "imports"),
        (can_see_decision_list(user, "corrections"), _l("To correct"),
         "worklists.show_decision_list", {"slug": "corrections"}, slug == "corrections"),
        (can_see_decision_list(user, "register-updates"), _l("Register updates"),
         "worklists.show_decision_list",
         {"slug": "register-updates"}, slug == "register-updates"),
        (can_sign_anything(user), _l("Awaiting signature"), "signing.show_awaiting", {},
         request.blueprint == "signing"),
        (can_use_queue(user), _l("Complaints"), "feedback.show_queue", {},
         request.blueprint == "feedback"),
        (can_manage_accounts(user), _l("Accounts"), "auth.list_accounts", {},
         endpoint.startswith("auth.") and "account" in endpoint),
        (can_read_trail(user), _l("Audit trail"), "audit.show_trail", {},
         request.blueprint == "audit"),
    ]
    return [NavLink(str(label), url_for(target, **args), active)
            for shown, label, target, args, active in items if shown]
