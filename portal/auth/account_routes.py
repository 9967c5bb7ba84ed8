"""Administrators' pages: the accounts of their province — list (filters, pages, export),
a new account, changes, a new password. Their URLs are listed in
``portal/auth/blueprint.py``."""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, AreaKind, Site
from portal.audit import services as audit
from portal.auth import mfa, permissions, services
from portal.auth.forms import (
    AccountFields,
    AccountFilterForm,
    EditAccountForm,
    NewAccountForm,
    PasswordForm,
)
from portal.auth.models import Role, User
from portal.core import export
from portal.core.accounts import NATION_WIDE
from portal.core.database import writes
from portal.core.export import Column
from portal.core.labels import role_label
from portal.core.paging import numbered_page, page_number
from portal.core.rendering import is_fragment_request, render
from portal.core.text import collation_key, fold
from portal.extensions import db

PAGE_SIZE = 50


def _managed_account(account_id: int) -> User:
    """The account an administrator manages; 404 for anything else — no such account,
    another province's, or a user who manages no accounts — so that neither an insider nor
    another province's administrator learns which ids exist."""
    account = db.session.get(User, account_id)
    if account is None or not permissions.manages(current_user, account):
        abort(404)
    return account


def _require_admin() -> None:
    if not permissions.can_manage_accounts(current_user):
        abort(403)


def _accounts(filters: dict[str, str]) -> list[User]:
    """The accounts of the administrator's province that pass the filters, by area and
    username. A name search folds diacritics like the records' search; a province has at
    most a few thousand accounts, so the folding is done here rather than in a column."""
    query = (
        sa.select(User)
        .join(Area, Area.id == User.area_id)
        .options(joinedload(User.area), joinedload(User.site))
        .where(
            User.area_id.in_(permissions.areas_managed_by(current_user)),
            User.role.not_in(NATION_WIDE),
        )
        .order_by(Area.code, User.username)
    )
    if filters["role"]:
        query = query.where(User.role == filters["role"])
    if filters["area"]:
        query = query.where(Area.code == filters["area"])
    if filters["state"] != "all":
        query = query.where(User.active.is_(filters["state"] == "active"))
    accounts = list(db.session.scalars(query))
    if filters["q"]:
        wanted = fold(filters["q"])
        accounts = [a for a in accounts if wanted in a.username or wanted in fold(a.display_name)]
    return accounts


KIND_ORDER = {AreaKind.PROVINCE: 0, AreaKind.DISTRICT: 1, AreaKind.COMMUNE: 2}


def _areas() -> list[Area]:
    return sorted(
        db.session.scalars(
            sa.select(Area).where(Area.id.in_(permissions.areas_managed_by(current_user)))
        ),
        key=lambda a: (KIND_ORDER[a.kind], collation_key(a.name)),
    )


def _sites() -> list[Site]:
    return sorted(
        db.session.scalars(
            sa.select(Site).where(Site.commune_id.in_(permissions.areas_managed_by(current_user)))
        ),
        key=lambda s: collation_key(s.name),
    )


AnyAccountForm = TypeVar("AnyAccountForm", bound=AccountFields)


def _with_choices(form: AnyAccountForm) -> AnyAccountForm:
    form.area.choices = [SelectChoice(a.code, f"{a.name} ({a.code})") for a in _areas()]
    form.site.choices = [SelectChoice("", "—")] + [
        SelectChoice(s.code, f"{s.name} ({s.code})") for s in _sites()
    ]
    return form


def _placement(form: AccountFields) -> tuple[Role, Area, Site | None]:
    area = permissions.area_managed_by(current_user, form.area.data)
    if area is None:  # the choices already refuse it; kept as the rule's own check
        abort(404)
    site = None
    if form.site.data:
        site = db.session.scalar(sa.select(Site).where(Site.code == form.site.data))
    return Role(form.role.data), area, site


def _refused(form: AccountFields | PasswordForm, error: services.AccountRefused) -> None:
    for name, message in error.problems:
        field = getattr(form, name)
        field.errors = [*field.errors, str(message)]


def _filter_form() -> AccountFilterForm:
    """The list's search, read from the query string; each value in error is shown with
    its message and left out of the search."""
    form = AccountFilterForm(formdata=request.args)
    form.area.choices = [SelectChoice("", _("All"))] + [
        SelectChoice(a.code, a.name) for a in _areas()
    ]
    form.validate()
    return form


@login_required
def list_accounts():
    _require_admin()
    form = _filter_form()
    page = numbered_page(_accounts(form.values()), page_number(request.args.get("page")), PAGE_SIZE)
    return render(
        "auth/accounts.html",
        fragments={"accounts-results": "results"},
        page=page,
        form=form,
        role_label=role_label,
        # An htmx search replaces the results only: the fields' messages come with them,
        # out of band, beside each field.
        field_messages_oob=is_fragment_request(),
    )


EXPORT_COLUMNS = [
    Column(_l("Username"), lambda u: u.username, 24),
    Column(_l("Full name and title"), lambda u: u.display_name, 32),
    Column(_l("Role"), lambda u: role_label(u.role), 20),
    Column(_l("Area code"), lambda u: u.area.code, 10),
    Column(_l("Area"), lambda u: u.area.name, 28),
    Column(_l("Vaccination site"), lambda u: u.site.name if u.site else "", 28),
    Column(_l("Active"), lambda u: _("yes") if u.active else _("no"), 10),
    Column(_l("Created"), lambda u: u.created_at, 18),
]


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_accounts(fmt: str):
    _require_admin()
    form = _filter_form()
    columns, rows = export.read_now(EXPORT_COLUMNS, _accounts(form.values()))
    audit.record(
        "user.export",
        "area",
        current_user.area.code,
        {"rows": [None, len(rows)], "format": [None, fmt], "filters": [None, form.args()]},
    )
    db.session.commit()
    return export.response(
        fmt, columns, [rows], f"tai-khoan-{current_user.area.code}", _("Accounts")
    )


def _new_page(form: NewAccountForm, status: int = 200):
    return render("auth/account_new.html", status=status, form=form)


@login_required
def new_account():
    _require_admin()
    return _new_page(_with_choices(NewAccountForm()))


@login_required
def create_account():
    _require_admin()
    form = _with_choices(NewAccountForm(request.form))
    if not form.validate():
        return _new_page(form, 422)
    role, area, site = _placement(form)
    try:
        account = services.create_account(
            form.username.data,
            form.password.data,
            role,
            area,
            form.display_name.data,
            site=site,
            actor=current_user,
        )
    except services.AccountRefused as error:
        db.session.rollback()
        _refused(form, error)
        return _new_page(form, 422)
    db.session.commit()
    flash(_("Account %(username)s created.", username=account.username), "success")
    return redirect(url_for("auth.show_account", account_id=account.id), 303)


def _account_page(
    account: User,
    form: EditAccountForm | None = None,
    password_form: PasswordForm | None = None,
    status: int = 200,
):
    if form is None:
        form = EditAccountForm(
            data={
                "display_name": account.display_name,
                "role": account.role.value,
                "area": account.area.code,
                "site": account.site.code if account.site else "",
                "active": account.active,
            }
        )
    _with_choices(form)
    return render(
        "auth/account.html",
        status=status,
        account=account,
        form=form,
        password_form=password_form or PasswordForm(),
        role_label=role_label,
        factors=mfa.factors_of(account),
        mfa_required=mfa.is_required(account),
    )


@login_required
def show_account(account_id: int):
    account = _managed_account(account_id)
    return _account_page(account)


@login_required
def update_account(account_id: int):
    account = _managed_account(account_id)
    form = EditAccountForm(request.form)
    _with_choices(form)
    if not form.validate():
        return _account_page(account, form, status=422)
    role, area, site = _placement(form)
    try:
        changes = services.update_account(
            account, form.display_name.data, role, area, site, form.active.data, actor=current_user
        )
    except services.AccountRefused as error:
        db.session.rollback()
        _refused(form, error)
        return _account_page(account, form, status=422)
    db.session.commit()
    flash(_("Changes saved.") if changes else _("Nothing changed."), "success")
    return redirect(url_for("auth.show_account", account_id=account.id), 303)


@login_required
def set_account_password(account_id: int):
    account = _managed_account(account_id)
    password_form = PasswordForm(request.form)
    if not password_form.validate():
        return _account_page(account, password_form=password_form, status=422)
    try:
        services.set_password(account, password_form.password.data, actor=current_user)
    except services.AccountRefused as error:
        db.session.rollback()
        _refused(password_form, error)
        return _account_page(account, password_form=password_form, status=422)
    db.session.commit()
    flash(_("New password set; the account's open sessions have ended."), "success")
    return redirect(url_for("auth.show_account", account_id=account.id), 303)
