"""Second factors at sign-in (issue 14, item 13): an authenticator app (TOTP), passkeys
(WebAuthn) and single-use recovery codes; which roles of a province must have one; the
half-logged state between the password and the second factor.

The rules, in one place:
- A second factor is asked after the password when the user has one (an app or a passkey),
  or when an administrator of their province requires one for their role (then a user
  without one enrols before going on). Only the roles that watch an area or sign can be
  required: administrators, health authorities, the committee, the police, site staff.
- A TOTP code is the app's code of the current 30-second step or of the one before or after
  it, and of a later step than the last code accepted: no code works twice.
- Ten recovery codes are shown once, when a first factor is set up or when the user asks
  for new ones; each opens one sign-in.
- Every change is an audit event; failures at the second step count in the login throttle
  (portal/auth/services.py) like wrong passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app, request, session
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from portal.areas.models import Area
from portal.audit import services as audit
from portal.auth.models import MfaRequirement, Passkey, RecoveryCode, Role, TotpFactor, User
from portal.auth.services import end_sessions
from portal.core.clock import utcnow
from portal.extensions import db

# The roles an administrator may require a second factor of (the issue's list: those who
# watch an area and those who sign).
ELIGIBLE_ROLES = (
    Role.ADMIN,
    Role.HEALTH_AUTHORITY,
    Role.COMMITTEE,
    Role.POLICE,
    Role.VACCINATION_SITE,
)
RECOVERY_CODE_COUNT = 10
# Crockford's base32 alphabet (no i, l, o, u): 12 characters carry 60 random bits.
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_LENGTH = 12
LOOK_ALIKES = str.maketrans("ilo", "110")
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
ISSUER = "Cổng đối soát tiêm chủng"


class MfaRefused(Exception):
    """A change or a check the rules refuse; the message is for the user."""

    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


# --- which roles must have a second factor ---------------------------------------------------


def province_id_of(area: Area) -> int:
    return area.province_id or area.id


def required_roles(province_id: int) -> set[Role]:
    return set(
        db.session.scalars(
            sa.select(MfaRequirement.role).where(MfaRequirement.province_id == province_id)
        )
    )


def is_required(user: User) -> bool:
    if user.role not in ELIGIBLE_ROLES:
        return False
    return db.session.get(MfaRequirement, (province_id_of(user.area), user.role)) is not None


def set_required_roles(province: Area, roles: set[Role], actor: User | None = None) -> dict:
    """The roles of ``province`` that must sign in with a second factor become ``roles``;
    one audit event with the roles before → after. It takes effect at each user's next
    sign-in."""
    unknown = set(roles) - set(ELIGIBLE_ROLES)
    if unknown:
        raise MfaRefused(_l("A second factor cannot be required for this role."))
    before = required_roles(province.id)
    if before == set(roles):
        return {}
    in_order = [role.value for role in ELIGIBLE_ROLES]
    changes = {
        "required_roles": [
            [r for r in in_order if r in before],
            [r for r in in_order if r in roles],
        ]
    }
    db.session.execute(
        sa.delete(MfaRequirement).where(
            MfaRequirement.province_id == province.id, MfaRequirement.role.in_(before - roles)
        )
    )
    for role in roles - before:
        db.session.add(
            MfaRequirement(province_id=province.id, role=role, set_by_id=getattr(actor, "id", None))
        )
    db.session.flush()
    audit.record("auth.mfa_policy", "area", province.code, changes, actor=actor)
    return changes


# --- a user's factors ------------------------------------------------------------------------


@dataclass
class Factors:
    totp: TotpFactor | None = None
    passkeys: list[Passkey] = field(default_factory=list)
    recovery_left: int = 0

    @property
    def any(self) -> bool:
        """Recovery codes alone are no factor: they stand in for one that was lost."""
        return self.totp is not None or bool(self.passkeys)

    def count(self) -> int:
        return (self.totp is not None) + len(self.passkeys)


def factors_of(user: User) -> Factors:
    return Factors(
        totp=db.session.get(TotpFactor, user.id),
        passkeys=list(
            db.session.scalars(
                sa.select(Passkey).where(Passkey.user_id == user.id).order_by(Passkey.id)
            )
        ),
        recovery_left=_recovery_left(user),
    )


def has_factor(user: User) -> bool:
    return factors_of(user).any


def second_step_needed(user: User) -> bool:
    return has_factor(user) or is_required(user)


def _refuse_removing_last(user: User, factors: Factors) -> None:
    if factors.count() <= 1 and is_required(user):
        raise MfaRefused(
            _l(
                "A second factor is required for your role: add another one "
                "before removing this one."
            )
        )


def _drop_recovery_codes_if_no_factor(user: User) -> None:
    if not has_factor(user):
        db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- authenticator apps (TOTP) ---------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def totp_uri(secret: str, user: User) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_svg(text: str, label: str) -> Markup:
    """The QR code of ``text`` as inline SVG (no style attribute: the page's CSP allows none),
    named for screen readers by ``label``."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4, title=label, svgclass="qr-code", lineclass=None
    )
    # segno's output: markup of numbers and the title, which it escapes.
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))


def grouped_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalise_totp_code(code: str | None) -> str | None:
    digits = "".join((code or "").split())
    return digits if len(digits) == TOTP_DIGITS and digits.isascii() and digits.isdigit() else None


def _matching_step(secret: str, code: str) -> int | None:
    """The step (one before, the current one, one after) whose code ``code`` is; the latest
    if several are (they never are, but a later step is the safe answer)."""
    digits = normalise_totp_code(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // TOTP_STEP_SECONDS
    found = None
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            found = step
    return found


def enrol_totp(user: User, secret: str, code: str, actor: User | None = None) -> None:
    """Set up (or replace) the user's authenticator app once it shows the right code; that
    code's step counts as used."""
    step = _matching_step(secret, code)
    if step is None:
        raise MfaRefused(
            _l(
                "This code does not match. Check the clock of the phone and "
                "type the code the app shows now."
            )
        )
    existing = db.session.get(TotpFactor, user.id)
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    db.session.add(
        TotpFactor(user_id=user.id, secret=secret, last_used_step=step, last_used_at=utcnow())
    )
    db.session.flush()
    audit.record(
        "user.mfa_totp_add",
        "user",
        user.username,
        {"authenticator_app": ["replaced" if existing else None, "set_up"]},
        actor=actor or user,
    )


def check_totp(user: User, code: str) -> bool:
    """True when ``code`` is the user's app code of an allowed step later than the last one
    used; that step becomes the last used. The update is conditional, so that two requests
    with the same code cannot both pass."""
    factor = db.session.get(TotpFactor, user.id)
    if factor is None:
        return False
    step = _matching_step(factor.secret, code)
    if step is None:
        return False
    accepted = db.session.execute(
        sa.update(TotpFactor)
        .where(
            TotpFactor.user_id == user.id,
            sa.or_(TotpFactor.last_used_step.is_(None), TotpFactor.last_used_step < step),
        )
        .values(last_used_step=step, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return accepted.rowcount == 1  # type: ignore[attr-defined]


def remove_totp(user: User, actor: User | None = None) -> None:
    factors = factors_of(user)
    if factors.totp is None:
        raise MfaRefused(_l("No authenticator app is set up."))
    _refuse_removing_last(user, factors)
    db.session.delete(factors.totp)
    db.session.flush()
    _drop_recovery_codes_if_no_factor(user)
    audit.record(
        "user.mfa_totp_remove",
        "user",
        user.username,
        {"authenticator_app": ["set_up", None]},
        actor=actor or user,
    )


# --- recovery codes --------------------------------------------------------------------------


def normalise_recovery_code(code: str | None) -> str | None:
    """Lower case, without spaces and dashes; Crockford's look-alikes read as digits."""
    text = "".join((code or "").lower().split()).replace("-", "")
    text = text.translate(LOOK_ALIKES)
    if len(text) != RECOVERY_LENGTH or any(c not in RECOVERY_ALPHABET for c in text):
        return None
    return text


def _recovery_hash(user_id: int, normalised: str) -> str:
    # SHA-256 is enough: a code is 60 random bits, not a password a person chose; the user's
    # id makes the same code hash differently for two users.
    return hashlib.sha256(f"{user_id}:{normalised}".encode()).hexdigest()


def _recovery_left(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def generate_recovery_codes(user: User, actor: User | None = None) -> list[str]:
    """Ten new codes, replacing any left; returned once, to be shown once."""
    left = _recovery_left(user)
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user.id, raw)))
    db.session.flush()
    audit.record(
        "user.mfa_recovery_codes",
        "user",
        user.username,
        {"recovery_codes_left": [left, RECOVERY_CODE_COUNT]},
        actor=actor or user,
    )
    return codes


def use_recovery_code(user: User, code: str) -> bool:
    """True when ``code`` is one of the user's unused codes; it is used up (a conditional
    update: two requests with one code cannot both pass). Audited with the count left."""
    normalised = normalise_recovery_code(code)
    if normalised is None:
        return False
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(user.id, normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return False
    left = _recovery_left(user)
    audit.record(
        "auth.recovery_code_used",
        "user",
        user.username,
        {"recovery_codes_left": [left + 1, left]},
        actor=user,
    )
    return True


# --- passkeys (WebAuthn) ---------------------------------------------------------------------


def expected_origin() -> str:
    """WEBAUTHN_ORIGIN; else the scheme and host of PUBLIC_BASE_URL; else those the request
    came to (development)."""
    config = current_app.config
    if config.get("WEBAUTHN_ORIGIN"):
        return str(config["WEBAUTHN_ORIGIN"]).rstrip("/")
    base = config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}"
    return request.host_url.rstrip("/")


def rp_id() -> str:
    """WEBAUTHN_RP_ID; else the host name of the expected origin. A passkey belongs to that
    name: changing it later orphans every passkey."""
    configured = current_app.config.get("WEBAUTHN_RP_ID")
    return str(configured) if configured else (urlsplit(expected_origin()).hostname or "")


def _user_handle(user: User) -> bytes:
    # An opaque, stable handle; never the username (the authenticator may show or keep it).
    return hashlib.sha256(f"portal-user:{user.id}".encode()).digest()[:16]


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    found = []
    for passkey in passkeys:
        transports = []
        for name in (passkey.transports or "").split(","):
            try:
                transports.append(AuthenticatorTransport(name))
            except ValueError:
                continue
        found.append(
            PublicKeyCredentialDescriptor(id=passkey.credential_id, transports=transports or None)
        )
    return found


def registration_options(user: User) -> tuple[str, bytes]:
    """The JSON the browser needs to create a passkey for ``user``, and its challenge."""
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=ISSUER,
        user_name=user.username,
        user_id=_user_handle(user),
        user_display_name=user.display_name,
        exclude_credentials=_descriptors(factors_of(user).passkeys),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    return options_to_json(options), options.challenge


def register_passkey(
    user: User, credential: str, challenge: bytes, name: str, actor: User | None = None
) -> Passkey:
    """Check the browser's answer to the registration options and keep the passkey."""
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
        )
    except Exception as error:  # any malformed or unverifiable answer is one refusal
        raise MfaRefused(_l("The passkey could not be registered. Try again.")) from error
    taken = db.session.scalar(
        sa.select(Passkey.id).where(Passkey.credential_id == verified.credential_id)
    )
    if taken is not None:
        raise MfaRefused(_l("This passkey is already registered."))
    transports = _transports(credential)
    count = len(factors_of(user).passkeys)
    passkey = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=(name or "").strip()[:100] or str(_l("Passkey %(n)d", n=count + 1)),
        transports=",".join(transports)[:200] or None,
    )
    db.session.add(passkey)
    db.session.flush()
    audit.record(
        "user.mfa_passkey_add",
        "user",
        user.username,
        {"passkey": [None, passkey.name]},
        actor=actor or user,
    )
    return passkey


def _transports(credential: str) -> list[str]:
    try:
        found = json.loads(credential).get("response", {}).get("transports") or []
    except (ValueError, AttributeError):
        return []
    return [t for t in found if isinstance(t, str)][:10]


def authentication_options(user: User) -> tuple[str, bytes]:
    options = generate_authentication_options(
        rp_id=rp_id(),
        allow_credentials=_descriptors(factors_of(user).passkeys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options), options.challenge


def check_passkey(user: User, credential: str, challenge: bytes) -> Passkey | None:
    """The user's passkey that signed ``challenge`` in ``credential``, its counter moved
    on; None when the answer does not verify."""
    try:
        raw_id = base64url_to_bytes(json.loads(credential)["rawId"])
    except Exception:  # a malformed answer is a failed check, never an error page
        return None
    passkey = db.session.scalar(
        sa.select(Passkey).where(Passkey.user_id == user.id, Passkey.credential_id == raw_id)
    )
    if passkey is None:
        return None
    try:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
        )
    except Exception:  # a forged, replayed or malformed answer alike
        return None
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    db.session.flush()
    return passkey


def remove_passkey(user: User, passkey: Passkey, actor: User | None = None) -> None:
    _refuse_removing_last(user, factors_of(user))
    name = passkey.name
    db.session.delete(passkey)
    db.session.flush()
    _drop_recovery_codes_if_no_factor(user)
    audit.record(
        "user.mfa_passkey_remove",
        "user",
        user.username,
        {"passkey": [name, None]},
        actor=actor or user,
    )


def credential_id_text(passkey: Passkey) -> str:
    return bytes_to_base64url(passkey.credential_id)


# --- an administrator's reset ------------------------------------------------------------------


def reset_factors(user: User, actor: User | None = None) -> dict:
    """Every second factor and recovery code of ``user`` goes (a lost phone or key); their
    sessions end. If their role requires one, they set up a new one at their next sign-in."""
    factors = factors_of(user)
    changes: dict[str, list[Any]] = {}
    if factors.totp is not None:
        changes["authenticator_app"] = ["set_up", None]
    if factors.passkeys:
        changes["passkeys"] = [[p.name for p in factors.passkeys], None]
    if factors.recovery_left:
        changes["recovery_codes_left"] = [factors.recovery_left, 0]
    for table in (TotpFactor, Passkey, RecoveryCode):
        db.session.execute(sa.delete(table).where(table.user_id == user.id))
    db.session.flush()
    end_sessions(user)
    audit.record("user.mfa_reset", "user", user.username, changes, actor=actor)
    return changes


# --- the half-logged state --------------------------------------------------------------------
# Between a right password and the second factor the browser's (signed) session holds the
# user's id, when the password was given and where to go next; nothing else counts as
# logged in. It expires after MFA_PENDING_MINUTES.

PENDING = "mfa_pending"
TOTP_SECRET = "mfa_totp_secret"
CHALLENGE = "mfa_webauthn"


def begin_pending(user: User, next_url: str | None) -> None:
    session.pop(TOTP_SECRET, None)
    session.pop(CHALLENGE, None)
    session[PENDING] = {"user_id": user.id, "at": time.time(), "next": next_url or ""}
    audit.record("auth.mfa_asked", "user", user.username, actor=user)


def _fresh(stamp: Any) -> bool:
    lifetime = current_app.config["MFA_PENDING_MINUTES"] * 60
    return isinstance(stamp, int | float) and 0 <= time.time() - stamp <= lifetime


def pending_user() -> User | None:
    """The user between password and second factor, while that lasts."""
    state = session.get(PENDING)
    if not isinstance(state, dict) or not _fresh(state.get("at")):
        return None
    user = db.session.get(User, state.get("user_id"))
    return user if user is not None and user.active else None


def pending_next() -> str | None:
    state = session.get(PENDING)
    return state.get("next") or None if isinstance(state, dict) else None


def end_pending() -> None:
    for key in (PENDING, TOTP_SECRET, CHALLENGE):
        session.pop(key, None)


def enrolment_secret(user: User, create: bool = True) -> str | None:
    """The secret being set up for ``user`` in this browser (one per setup, kept while it
    lasts; a new one when ``create`` and there is none)."""
    state = session.get(TOTP_SECRET)
    if (
        isinstance(state, dict)
        and _fresh(state.get("at"))
        and state.get("secret")
        and state.get("user_id") == user.id
    ):
        return str(state["secret"])
    if not create:
        return None
    secret = new_totp_secret()
    session[TOTP_SECRET] = {"secret": secret, "at": time.time(), "user_id": user.id}
    return secret


def forget_enrolment_secret() -> None:
    session.pop(TOTP_SECRET, None)


def keep_challenge(purpose: str, user: User, challenge: bytes, name: str = "") -> None:
    session[CHALLENGE] = {
        "purpose": purpose,
        "user_id": user.id,
        "at": time.time(),
        "challenge": bytes_to_base64url(challenge),
        "name": name[:100],
    }


def take_challenge(purpose: str, user: User) -> tuple[bytes, str] | None:
    """The challenge (and the passkey's name) issued to this browser for ``purpose``; used
    once."""
    state = session.pop(CHALLENGE, None)
    if (
        not isinstance(state, dict)
        or state.get("purpose") != purpose
        or state.get("user_id") != user.id
        or not _fresh(state.get("at"))
    ):
        return None
    return base64url_to_bytes(state["challenge"]), str(state.get("name") or "")
