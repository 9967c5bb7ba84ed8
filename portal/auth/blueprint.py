"""Logging in and out, second factors, one's own security page, the administrators'
account pages.

Every URL of the domain is listed here, with the view that answers it."""

from __future__ import annotations

from flask import Blueprint
from flask_wtf.csrf import CSRFError

from portal.auth import account_routes, mfa_routes, routes

bp = Blueprint("auth", __name__)


# Besides its URLs: what the blueprint adds around its views and to the templates.
bp.register_error_handler(CSRFError, routes.login_form_expired)

# routes.py
bp.add_url_rule("/login", "get_login", routes.get_login, methods=["GET"])
bp.add_url_rule("/login", "post_login", routes.post_login, methods=["POST"])
bp.add_url_rule("/logout", "post_logout", routes.post_logout, methods=["POST"])

# account_routes.py
bp.add_url_rule("/admin/accounts", "list_accounts", account_routes.list_accounts, methods=["GET"])
bp.add_url_rule(
    "/admin/accounts/export.<any(xlsx, csv):fmt>",
    "export_accounts",
    account_routes.export_accounts,
    methods=["GET"],
)
bp.add_url_rule("/admin/accounts/new", "new_account", account_routes.new_account, methods=["GET"])
bp.add_url_rule(
    "/admin/accounts/new", "create_account", account_routes.create_account, methods=["POST"]
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>", "show_account", account_routes.show_account, methods=["GET"]
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>",
    "update_account",
    account_routes.update_account,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>/password",
    "set_account_password",
    account_routes.set_account_password,
    methods=["POST"],
)

# mfa_routes.py
bp.add_url_rule(
    "/login/second-factor", "get_second_factor", mfa_routes.get_second_factor, methods=["GET"]
)
bp.add_url_rule(
    "/login/second-factor", "post_second_factor", mfa_routes.post_second_factor, methods=["POST"]
)
bp.add_url_rule(
    "/login/second-factor/passkey/options",
    "post_second_factor_passkey_options",
    mfa_routes.post_second_factor_passkey_options,
    methods=["POST"],
)
bp.add_url_rule(
    "/login/second-factor/passkey",
    "post_second_factor_passkey",
    mfa_routes.post_second_factor_passkey,
    methods=["POST"],
)
bp.add_url_rule("/login/enrol", "get_enrolment", mfa_routes.get_enrolment, methods=["GET"])
bp.add_url_rule("/login/enrol/app", "post_enrol_app", mfa_routes.post_enrol_app, methods=["POST"])
bp.add_url_rule(
    "/login/enrol/passkey/options",
    "post_enrol_passkey_options",
    mfa_routes.post_enrol_passkey_options,
    methods=["POST"],
)
bp.add_url_rule(
    "/login/enrol/passkey", "post_enrol_passkey", mfa_routes.post_enrol_passkey, methods=["POST"]
)
bp.add_url_rule("/account/security", "show_security", mfa_routes.show_security, methods=["GET"])
bp.add_url_rule(
    "/account/security/confirm",
    "confirm_security_password",
    mfa_routes.confirm_security_password,
    methods=["POST"],
)
bp.add_url_rule(
    "/account/security/app", "start_app_setup", mfa_routes.start_app_setup, methods=["POST"]
)
bp.add_url_rule(
    "/account/security/app", "show_app_setup", mfa_routes.show_app_setup, methods=["GET"]
)
bp.add_url_rule(
    "/account/security/app/confirm",
    "confirm_app_setup",
    mfa_routes.confirm_app_setup,
    methods=["POST"],
)
bp.add_url_rule(
    "/account/security/app/remove", "remove_app", mfa_routes.remove_app, methods=["POST"]
)
bp.add_url_rule(
    "/account/security/passkeys/options",
    "post_passkey_options",
    mfa_routes.post_passkey_options,
    methods=["POST"],
)
bp.add_url_rule(
    "/account/security/passkeys", "add_passkey", mfa_routes.add_passkey, methods=["POST"]
)
bp.add_url_rule(
    "/account/security/passkeys/<id:passkey_id>/remove",
    "remove_passkey",
    mfa_routes.remove_passkey,
    methods=["POST"],
)
bp.add_url_rule(
    "/account/security/recovery-codes",
    "regenerate_recovery_codes",
    mfa_routes.regenerate_recovery_codes,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/accounts/second-factors", "show_mfa_policy", mfa_routes.show_mfa_policy, methods=["GET"]
)
bp.add_url_rule(
    "/admin/accounts/second-factors",
    "update_mfa_policy",
    mfa_routes.update_mfa_policy,
    methods=["POST"],
)
bp.add_url_rule(
    "/admin/accounts/<id:account_id>/second-factors/reset",
    "reset_account_factors",
    mfa_routes.reset_account_factors,
    methods=["POST"],
)
