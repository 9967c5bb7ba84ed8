"""The accounts domain's words: sign-in and account actions, roles and second factors.
Gathered by core.labels."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.auth.models import Role

ACTIONS = {
    "auth.login": _l("Logged in"),
    "auth.login_failed": _l("Failed login"),
    "auth.login_throttled": _l("Login refused (too many failures)"),
    "auth.logout": _l("Logged out"),
    "auth.mfa_asked": _l("Password accepted, second factor asked"),
    "auth.mfa_failed": _l("Second factor refused"),
    "auth.mfa_policy": _l("Second factor requirement changed"),
    "auth.reauth_failed": _l("Wrong password given to change sign-in security"),
    "auth.recovery_code_used": _l("Recovery code used to sign in"),
    "user.create": _l("Account created"),
    "user.export": _l("Accounts exported"),
    "user.mfa_passkey_add": _l("Passkey added"),
    "user.mfa_passkey_remove": _l("Passkey removed"),
    "user.mfa_recovery_codes": _l("New recovery codes made"),
    "user.mfa_reset": _l("Second factors reset by an administrator"),
    "user.mfa_totp_add": _l("Authenticator app set up"),
    "user.mfa_totp_remove": _l("Authenticator app removed"),
    "user.password": _l("Password changed"),
    "user.update": _l("Account changed"),
}

ENTITIES = {"user": _l("Account")}

FIELDS = {
    "role": _l("Role"),
    "active": _l("Active"),  # may log in (the accounts page's check box)
    "display_name": _l("Full name and title"),
    "site": _l("Vaccination site"),
    "password": _l("Password"),
    # Second factors at sign-in (portal/auth/mfa.py).
    "factor": _l("Second factor"),
    "authenticator_app": _l("Authenticator app"),
    "passkey": _l("Passkey"),
    "passkeys": _l("Passkeys"),
    "recovery_codes_left": _l("Unused recovery codes"),
    "required_roles": _l("Roles that must use a second factor"),
}

ROLE_LABELS = {
    Role.POLICE: _l("Commune police"),
    Role.HEALTH_STATION: _l("Health station"),
    Role.COMMITTEE: _l("Commune committee"),
    Role.VACCINATION_SITE: _l("Vaccination site"),
    Role.HEALTH_AUTHORITY: _l("Health authority"),
    Role.ADMIN: _l("Administrator"),
    Role.NATIONAL_ADMIN: _l("National administrator"),
    Role.ISSUER: _l("Vaccine passport issuer"),
}

FACTOR_LABELS = {
    "totp": _l("authenticator app"),
    "passkey": _l("passkey"),
    "recovery_code": _l("recovery code"),
}

AUTHENTICATOR_APP_LABELS = {
    "set_up": _l("set up"),
    "replaced": _l("one set up before"),
}

VALUES = {
    "role": ROLE_LABELS,
    "required_roles": ROLE_LABELS,
    "factor": FACTOR_LABELS,
    "authenticator_app": AUTHENTICATOR_APP_LABELS,
}
