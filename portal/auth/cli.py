"""``flask --app wsgi users …``: accounts from the command line — the first administrator
of a new installation, and a way back in when nobody can log in. Each command commits once;
the audit events name no actor (the command line)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask_babel import gettext as _

from portal.areas.models import Area, AreaKind, Site
from portal.auth import mfa, services
from portal.auth.models import Role, User
from portal.core.cli import ask_secret, fail
from portal.core.labels import role_label
from portal.extensions import db

PASSWORD_ENV = "PORTAL_NEW_PASSWORD"


@click.group("users", help="User accounts.")
def users_group() -> None:
    pass


def _password() -> str:
    """From PORTAL_NEW_PASSWORD (scripts), else asked twice without echo."""
    return ask_secret(_("Password"), PASSWORD_ENV, twice=True)


def _account(username: str) -> User:
    account = db.session.scalar(
        sa.select(User).where(User.username == services.normalise_username(username))
    )
    if account is None:
        fail(_("No account named %(username)s.", username=username))
    return account


@users_group.command("create", help=f"Create an account (password asked, or from {PASSWORD_ENV}).")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--area", "area_code", required=True, help="Official code of the area.")
@click.option("--name", "display_name", required=True, help="Full name and title.")
@click.option("--site", "site_code", default=None, help="Site code (site staff only).")
def users_create(
    username: str, role: str, area_code: str, display_name: str, site_code: str | None
) -> None:
    area = db.session.scalar(sa.select(Area).where(Area.code == area_code))
    if area is None:
        fail(
            _(
                "No area with code %(code)s (load them first: flask --app wsgi areas load).",
                code=area_code,
            )
        )
    site = None
    if site_code:
        site = db.session.scalar(sa.select(Site).where(Site.code == site_code))
        if site is None:
            fail(_("No vaccination site with code %(code)s.", code=site_code))
    try:
        account = services.create_account(
            username, _password(), Role(role), area, display_name, site=site
        )
    except services.AccountRefused as error:
        fail(error)
    db.session.commit()
    click.echo(
        _(
            "Account %(username)s created: %(role)s, %(area)s.",
            username=account.username,
            role=role_label(account.role),
            area=account.area.name,
        )
    )


@users_group.command("set-password", help="Set a new password; the account's sessions end.")
@click.argument("username")
def users_set_password(username: str) -> None:
    account = _account(username)
    try:
        services.set_password(account, _password())
    except services.AccountRefused as error:
        fail(error)
    db.session.commit()
    click.echo(_("New password set for %(username)s.", username=account.username))


@users_group.command("deactivate", help="Deactivate an account; its sessions end at once.")
@click.argument("username")
def users_deactivate(username: str) -> None:
    account = _account(username)
    services.update_account(
        account, account.display_name, account.role, account.area, account.site, active=False
    )
    db.session.commit()
    click.echo(_("Account %(username)s deactivated.", username=account.username))


@users_group.command("list", help="List the accounts (of one area with --area).")
@click.option("--area", "area_code", default=None)
def users_list(area_code: str | None) -> None:
    query = sa.select(User).join(Area, Area.id == User.area_id).order_by(Area.code, User.username)
    if area_code:
        query = query.where(Area.code == area_code)
    deactivated = _("deactivated")
    for account in db.session.scalars(query):
        state = "" if account.active else f"  ({deactivated})"
        click.echo(
            f"{account.username:<28} {role_label(account.role):<22} {account.area.code:<6} "
            f"{account.area.name}{state}"
        )


@users_group.command(
    "mfa-require",
    help="Require a second factor at sign-in for roles of a "
    "province (with --off: no longer require it).",
)
@click.option("--province", "province_code", required=True, help="Official code of the province.")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in mfa.ELIGIBLE_ROLES]),
    help="A role (the option may be repeated).",
)
@click.option("--off", is_flag=True, help="Stop requiring it for these roles.")
def users_mfa_require(province_code: str, roles: tuple[str, ...], off: bool) -> None:
    province = db.session.scalar(sa.select(Area).where(Area.code == province_code))
    if province is None or province.kind != AreaKind.PROVINCE:
        fail(_("No province with code %(code)s.", code=province_code))
    current = mfa.required_roles(province.id)
    chosen = {Role(value) for value in roles}
    mfa.set_required_roles(province, current - chosen if off else current | chosen)
    db.session.commit()
    required = mfa.required_roles(province.id)
    names = ", ".join(role_label(r) for r in mfa.ELIGIBLE_ROLES if r in required) or "—"
    click.echo(
        _(
            "Second factor required in %(province)s for: %(roles)s.",
            province=province.name,
            roles=names,
        )
    )


@users_group.command(
    "mfa-reset",
    help="Remove an account's second factors and recovery codes "
    "(a lost phone or key); its sessions end.",
)
@click.argument("username")
def users_mfa_reset(username: str) -> None:
    account = _account(username)
    mfa.reset_factors(account)
    db.session.commit()
    click.echo(_("Second factors of %(username)s removed.", username=account.username))
