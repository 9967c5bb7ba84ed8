from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.areas.models import Area, Site
from portal.core.accounts import Role, SigningMethod
from portal.core.clock import utcnow
from portal.core.models_base import enum_column
from portal.extensions import Model


class User(Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(80), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # How this person signs (None: not chosen yet; the administrator sets it).
    signing_method: Mapped[SigningMethod | None] = mapped_column(
        enum_column(SigningMethod, "signing_method")
    )

    area: Mapped[Area] = relationship()
    site: Mapped[Site | None] = relationship()

    # Flask-Login reads these.
    # Not a column: the token of the login session this request belongs to.
    __allow_unmapped__ = True
    session_token: str | None = None
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginSession(Model):
    """A server-side session: logging out ends it, so a copied cookie stops working."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    client_addr: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


# --- second factors (portal/auth/mfa.py) ----------------------------------------------------


class MfaRequirement(Model):
    """A second factor is required at sign-in for ``role`` in ``province``: a row is the
    requirement, set by an administrator of that province (none: not required)."""

    __tablename__ = "mfa_requirement"

    province_id: Mapped[int] = mapped_column(sa.ForeignKey("area.id"), primary_key=True)
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), primary_key=True)
    set_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))


class TotpFactor(Model):
    """An authenticator app: the shared secret (RFC 6238, 30-second steps) and the last step
    whose code was accepted, so that no code is accepted twice."""

    __tablename__ = "totp_factor"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(sa.String(64))
    last_used_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class Passkey(Model):
    """A WebAuthn credential: its id, public key (COSE) and the authenticator's counter."""

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    credential_id: Mapped[bytes] = mapped_column(sa.LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    name: Mapped[str] = mapped_column(sa.String(100))
    transports: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class RecoveryCode(Model):
    """One single-use recovery code, kept only as a hash."""

    __tablename__ = "recovery_code"
    __table_args__ = (sa.UniqueConstraint("user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by the unique constraint, whose first column it is.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
