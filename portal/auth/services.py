"""Logging in and out. Each outcome is an audit event; failures feed the throttle."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, request
from flask_login import login_user, logout_user
from sqlalchemy.orm import joinedload

from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.auth.models import LoginSession, Role, User
from portal.auth.passwords import hash_password, needs_rehash, verify_password
from portal.extensions import db
from portal.models_base import utcnow


class LoginThrottled(Exception):
    pass


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def is_throttled(username: str, client_addr: str | None) -> bool:
    config = current_app.config
    since = utcnow() - timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
    failures = sa.select(sa.func.count()).where(
        AuditEvent.action == "auth.login_failed", AuditEvent.occurred_at >= since
    )
    by_user = db.session.scalar(
        failures.where(AuditEvent.entity_type == "user", AuditEvent.entity_id == username)
    )
    if by_user >= config["LOGIN_MAX_FAILURES"]:
        return True
    by_addr = db.session.scalar(failures.where(AuditEvent.client_addr == client_addr))
    return by_addr >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]


def authenticate(username: str, password: str) -> User | None:
    """Check the credentials; on success open a server-side session and log the user in."""
    username = normalise_username(username)
    if is_throttled(username, request.remote_addr):
        audit.record("auth.login_throttled", "user", username)
        raise LoginThrottled()
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if not verify_password(user.password_hash if user else None, password) or not (
        user and user.active
    ):
        audit.record("auth.login_failed", "user", username)
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(token_hash=_token_hash(token), user=user, client_addr=request.remote_addr)
    )
    user.session_token = token
    login_user(user)
    audit.record("auth.login", "user", username, actor=user)
    return user


def load_session_user(token: str) -> User | None:
    lifetime = current_app.config["PERMANENT_SESSION_LIFETIME"]
    user = db.session.scalar(
        sa.select(User)
        # Every page shows the user's area (and the permissions read it): in the same query.
        .options(joinedload(User.area))
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            LoginSession.token_hash == _token_hash(token),
            LoginSession.ended_at.is_(None),
            LoginSession.created_at > utcnow() - lifetime,
            User.active.is_(True),
        )
    )
    if user is not None:
        user.session_token = token
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
