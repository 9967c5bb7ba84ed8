"""Logging in and out. Each outcome is an audit event; failures feed the throttle."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from portal.areas.models import Area, Site
from portal.areas.scope import load_site_reach
from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.auth.models import LoginSession, Role, User
from portal.auth.passwords import (
    hash_password,
    matching_form,
    needs_rehash,
    normalise_password,
    password_problem,
)
from portal.auth.permissions import ROLE_AREA_KINDS
from portal.core.accounts import NATION_WIDE
from portal.core.clock import utcnow
from portal.core.database import reading
from portal.core.throttle import growing_wait, whole_minutes
from portal.extensions import db


class LoginThrottled(Exception):
    def __init__(self, wait: timedelta) -> None:
        super().__init__(f"wait {wait}")
        self.wait = wait

    @property
    def minutes(self) -> int:
        """The wait in whole minutes, rounded up (at least one)."""
        return whole_minutes(self.wait)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


# What the throttle counts as a failure: a wrong password at login, a wrong second factor
# (portal/auth/mfa.py), a wrong password given to change one's sign-in security.
FAILURES = ("auth.login_failed", "auth.mfa_failed", "auth.reauth_failed")


def _growing_wait(where: tuple, actions: tuple[str, ...], limit: int, now: datetime) -> timedelta:
    """``limit`` failures (``actions``) of the events ``where`` selects since their last
    login (within LOGIN_WINDOW_MINUTES) cost a wait of LOGIN_FIRST_DELAY_MINUTES after the
    last failure, doubling with each further failure up to LOGIN_MAX_DELAY_MINUTES."""
    config = current_app.config
    since = now - timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    last_success = db.session.scalar(
        sa.select(sa.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.action == "auth.login", *where
        )
    )
    if last_success is not None and last_success > since:
        since = last_success
    failures, last_failure = db.session.execute(
        sa.select(sa.func.count(), sa.func.max(AuditEvent.occurred_at)).where(
            AuditEvent.action.in_(actions), AuditEvent.occurred_at > since, *where
        )
    ).one()
    return growing_wait(
        failures,
        last_failure,
        now,
        free=limit,
        first_delay_minutes=config["LOGIN_FIRST_DELAY_MINUTES"],
        max_delay_minutes=config["LOGIN_MAX_DELAY_MINUTES"],
    )


def _wait_per_pair(username: str, client_addr: str | None, now: datetime) -> timedelta:
    """(account, address): LOGIN_MAX_FAILURES failures since that pair's last success. Another
    address is not affected, so an attacker cannot keep the owner out."""
    pair = (
        AuditEvent.entity_type == "user",
        AuditEvent.entity_id == username,
        AuditEvent.client_addr == client_addr,
    )
    return _growing_wait(pair, FAILURES, current_app.config["LOGIN_MAX_FAILURES"], now)


def _wait_per_account_second_factor(username: str, now: datetime) -> timedelta:
    """The account from any address, for the second factor only: MFA_MAX_FAILURES wrong
    codes since its last login. Only someone who knows the password reaches that step, so
    this cannot keep the owner out without the password; it stops a password-holder from
    guessing codes from many addresses."""
    account = (AuditEvent.entity_type == "user", AuditEvent.entity_id == username)
    return _growing_wait(account, ("auth.mfa_failed",), current_app.config["MFA_MAX_FAILURES"], now)


def _wait_per_address(client_addr: str | None, now: datetime) -> timedelta:
    """The address alone, loosely (many accounts behind one NAT): at most
    LOGIN_MAX_FAILURES_PER_ADDRESS failures, any accounts, within LOGIN_ADDRESS_WINDOW_MINUTES;
    beyond, the address waits until enough of them have aged out of the window."""
    config = current_app.config
    window = timedelta(minutes=config["LOGIN_ADDRESS_WINDOW_MINUTES"])
    limit = config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    # The limit-th most recent failure: once it leaves the window, fewer than the limit remain.
    oldest_counted = db.session.scalar(
        sa.select(AuditEvent.occurred_at)
        .where(
            AuditEvent.action.in_(FAILURES),
            AuditEvent.occurred_at > now - window,
            AuditEvent.client_addr == client_addr,
        )
        .order_by(AuditEvent.occurred_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if oldest_counted is None:
        return timedelta(0)
    return max(oldest_counted + window - now, timedelta(0))


def throttle_wait(username: str, client_addr: str | None, second_factor: bool = False) -> timedelta:
    """How long a login of ``username`` from ``client_addr`` must wait (zero: it may try);
    ``second_factor``: at the second step, where the account's own limit applies too.
    Counted from the audit trail's failures; a throttled attempt is not a failure."""
    now = utcnow()
    waits = [_wait_per_pair(username, client_addr, now), _wait_per_address(client_addr, now)]
    if second_factor:
        waits.append(_wait_per_account_second_factor(username, now))
    return max(waits)


def refuse_if_throttled(username: str, second_factor: bool = False) -> None:
    """Raise LoginThrottled (audited) when this account and address must wait."""
    wait = throttle_wait(username, request.remote_addr, second_factor)
    if wait > timedelta(0):
        audit.record("auth.login_throttled", "user", username)
        raise LoginThrottled(wait)


def _checked_before_writing(
    username: str, password: str
) -> tuple[int | None, str | None, str | None, bool]:
    """The password checked before a writing transaction begins: on SQLite that transaction
    holds the write lock (BEGIN IMMEDIATE), which argon2's fifth of a second would keep from
    every other login and save. Whatever this request began (a POST's transaction, which
    loaded the session's user) ends first; the throttle is asked before the check (a
    throttled attempt costs no hash). The account's id, the hash checked, the matching form
    of the password (None: no match) and whether the attempt was throttled."""
    db.session.commit()
    with reading():
        throttled = throttle_wait(username, request.remote_addr) > timedelta(0)
        found = db.session.execute(
            sa.select(User.id, User.password_hash).where(User.username == username)
        ).first()
        db.session.commit()  # the reading transaction ends before the hash is checked
    stored = found.password_hash if found else None
    matched = None if throttled else matching_form(stored, password)
    return (found.id if found else None), stored, matched, throttled


def _checked_again(
    user: User | None, stored: str | None, matched: str | None, throttled: bool, password: str
) -> str | None:
    """In the writing transaction: the password checked again only when the first check
    does not hold any more (no longer throttled, or the password changed meanwhile: rare)."""
    if throttled or (user is not None and user.password_hash != stored):
        return matching_form(user.password_hash if user else None, password)
    return matched


def check_credentials(username: str, password: str) -> User | None:
    """The active account these credentials open, or None (a failure, audited); nobody is
    logged in yet: a second factor may follow (portal/auth/mfa.py).

    The password is checked before the writing transaction begins (``_checked_before_writing``)
    and the throttle asked again in the writing transaction, where the failures of logins
    meanwhile are counted; the account is read again there, still active and with the
    password that was checked."""
    username = normalise_username(username)
    user_id, stored, matched, throttled = _checked_before_writing(username, password)
    refuse_if_throttled(username)  # the writing transaction begins
    user = db.session.get(User, user_id) if user_id is not None else None
    matched = _checked_again(user, stored, matched, throttled, password)
    if matched is None or not (user and user.active):
        audit.record("auth.login_failed", "user", username)
        return None
    # A hash of a password set before passwords were normalised is replaced by the
    # normalised one's, as an outdated cost is.
    if needs_rehash(user.password_hash) or matched != normalise_password(password):
        user.password_hash = hash_password(password)
    return user


def open_session(user: User, factor: str | None = None) -> None:
    """Log ``user`` in: a server-side session, Flask-Login's cookie, the audit event (which
    names the second factor used, if any)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(token_hash=_token_hash(token), user=user, client_addr=request.remote_addr)
    )
    user.session_token = token
    login_user(user)
    audit.record(
        "auth.login",
        "user",
        user.username,
        {"factor": [None, factor]} if factor else None,
        actor=user,
    )


def authenticate(username: str, password: str) -> User | None:
    """Check the credentials; on success open a server-side session and log the user in
    (without a second factor: the login route asks for one where it is due)."""
    user = check_credentials(username, password)
    if user is not None:
        open_session(user)
    return user


def check_current_password(user: User, password: str) -> bool:
    """A logged-in user's password, asked again before a change to their sign-in security;
    a wrong one counts in the throttle like a failed login (LoginThrottled when waiting).
    Checked before the writing transaction, as a login's is."""
    username = user.username
    _user_id, stored, matched, throttled = _checked_before_writing(username, password or "")
    refuse_if_throttled(username)  # the writing transaction begins
    account = db.session.get(User, user.id)
    if _checked_again(account, stored, matched, throttled, password or "") is not None:
        return True
    audit.record("auth.reauth_failed", "user", username, actor=account)
    return False


# Built once: every request runs it, and a statement built anew costs more than SQLite
# takes to answer it (its construction and its cache key, for a 0.01 ms query).
_SESSION_USER = (
    sa.select(User)
    # Every page shows the user's area (and the permissions read it): in the same query.
    .options(joinedload(User.area))
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.token_hash == sa.bindparam("token_hash"),
        LoginSession.ended_at.is_(None),
        LoginSession.created_at > sa.bindparam("since"),
        User.active.is_(True),
    )
)


def load_session_user(token: str) -> User | None:
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    user = db.session.scalar(
        _SESSION_USER, {"token_hash": _token_hash(token), "since": utcnow() - lifetime}
    )
    if user is not None:
        user.session_token = token
        if user.site_id is not None:
            # A site's staff find persons as far as the site reaches: the site, its
            # commune and that commune's holders, put on the user as loaded. Not joined
            # above: the others, most users, would pay for four empty entities a request.
            set_committed_value(user, "site", load_site_reach(user.site_id))
    return user


def logout(user: User) -> None:
    if user.session_token:
        db.session.execute(
            sa.update(LoginSession)
            .where(LoginSession.token_hash == _token_hash(user.session_token))
            .values(ended_at=utcnow())
        )
    audit.record("auth.logout", "user", user.username, actor=user)
    logout_user()


def create_user(
    username: str,
    password: str,
    role: Role,
    area,
    display_name: str,
    site=None,
    actor=None,
) -> User:
    """An account, as given: the rules (the password policy among them) are
    ``create_account``'s, which every person's path calls; fixtures call this directly."""
    user = User(
        username=normalise_username(username),
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        area=area,
        site=site,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        "user.create",
        "user",
        user.username,
        {
            "role": [None, role],
            "area": [None, area.code],
            "site": [None, site.code if site else None],
            "display_name": [None, display_name],
        },
        actor=actor,
    )
    return user


# --- managing accounts ----------------------------------------------------------------------

USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{2,79}")


class AccountRefused(Exception):
    """An account change that the rules refuse: each problem is (field, message for the
    user), all of them at once, so that one correction round is enough."""

    def __init__(self, problems: list[tuple[str, Any]]) -> None:
        super().__init__("; ".join(str(message) for _field, message in problems))
        self.problems = problems


def username_problem(username: str) -> Any:
    if not USERNAME_PATTERN.fullmatch(username):
        return _l(
            "A username has 3 to 80 characters: lower-case letters without accents, "
            "digits, dot, dash or underscore, starting with a letter or digit."
        )
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        return _l("This username is taken.")
    return None


def placement_problem(role: Role, area: Area, site: Site | None) -> tuple[str, Any] | None:
    """Why ``role`` cannot work in ``area`` (at ``site``): the field to blame and the
    message; None when it can."""
    if area.kind not in ROLE_AREA_KINDS[role]:
        if role == Role.HEALTH_AUTHORITY:
            return "area", _l("A health authority belongs to a province or a district.")
        if role == Role.NATIONAL_ADMIN:
            return "area", _l(
                "A national administrator's account is seated in a province "
                "(their office); their rights are nation-wide."
            )
        if role == Role.ISSUER:
            return "area", _l(
                "A passport issuer's account is seated in a province (its office); it "
                "issues passports nation-wide."
            )
        if role == Role.ADMIN:
            return "area", _l("An administrator belongs to a province.")
        return "area", _l("This role belongs to a commune or ward.")
    if role == Role.VACCINATION_SITE:
        if site is None:
            return "site", _l("Choose the vaccination site of this account.")
        if site.commune_id != area.id:
            return "site", _l("This vaccination site is not in the chosen commune.")
    elif site is not None:
        return "site", _l("Only vaccination-site staff belong to a site.")
    return None


def _appointing(role: Role, actor: User | None) -> list[tuple[str, Any]]:
    """A national administrator or a passport issuer is appointed from the command line
    (no actor), never by a province's administrator."""
    if role == Role.ISSUER and actor is not None:
        return [
            (
                "role",
                _l(
                    "A passport issuer is appointed from the command line "
                    "(flask users create … --role issuer)."
                ),
            )
        ]
    if role in NATION_WIDE and actor is not None:
        return [
            (
                "role",
                _l(
                    "A national administrator is appointed from the command line "
                    "(flask users create … --role national_admin)."
                ),
            )
        ]
    return []


def _refuse_if(problems: list[tuple[str, Any]]) -> None:
    if problems:
        raise AccountRefused(problems)


def end_sessions(user: User) -> None:
    """Every open login session of ``user`` ends: their next request finds them logged out."""
    db.session.execute(
        sa.update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )


def create_account(
    username: str,
    password: str,
    role: Role,
    area: Area,
    display_name: str,
    site: Site | None = None,
    actor: User | None = None,
) -> User:
    """A new account, after the rules: username free and well-formed, a password the
    policy accepts (``passwords.password_problem``), the role in an area (and a site) where
    it works."""
    username = normalise_username(username)
    problems = [
        (field, message)
        for field, message in (
            ("username", username_problem(username)),
            ("password", password_problem(password, username, display_name)),
        )
        if message is not None
    ]
    placement = placement_problem(role, area, site)
    _refuse_if(problems + ([placement] if placement else []) + _appointing(role, actor))
    return create_user(username, password, role, area, display_name.strip(), site=site, actor=actor)


def update_account(
    account: User,
    display_name: str,
    role: Role,
    area: Area,
    site: Site | None,
    active: bool,
    actor: User | None = None,
) -> dict:
    """Change an account; one audit event with what changed. An administrator cannot take
    their own rights away (somebody must be left to give them back). A deactivated
    account's sessions end at once."""
    # The placement is checked when it changes: an account placed before these rules can
    # still be renamed or deactivated.
    moved = (role, area.id, site.id if site else None) != (
        account.role,
        account.area_id,
        account.site_id,
    )
    placement = placement_problem(role, area, site) if moved else None
    _refuse_if(
        ([placement] if placement else [])
        + (_appointing(role, actor) if role != account.role else [])
    )
    if actor is not None and account.id == actor.id and (not active or role != Role.ADMIN):
        _refuse_if(
            [
                (
                    "active" if not active else "role",
                    _l(
                        "You cannot deactivate your own account or take away your own "
                        "administrator role."
                    ),
                )
            ]
        )
    before = {
        "display_name": account.display_name,
        "role": account.role,
        "area": account.area.code,
        "site": account.site.code if account.site else None,
        "active": account.active,
    }
    after = {
        "display_name": display_name.strip(),
        "role": role,
        "area": area.code,
        "site": site.code if site else None,
        "active": active,
    }
    changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
    if not changes:
        return changes
    account.display_name = display_name.strip()
    account.role = role
    account.area = area
    account.site = site
    account.active = active
    db.session.flush()
    if not active:
        end_sessions(account)
    audit.record("user.update", "user", account.username, changes, actor=actor)
    return changes


def set_password(account: User, password: str, actor: User | None = None) -> None:
    """A new password; every session of the account ends (whoever knew the old one is out).
    The audit event says that it changed, never what to."""
    problem = password_problem(password, account.username, account.display_name)
    if problem is not None:
        _refuse_if([("password", problem)])
    account.password_hash = hash_password(password)
    db.session.flush()
    end_sessions(account)
    audit.record("user.password", "user", account.username, {"password": ["…", "…"]}, actor=actor)
