from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

# Verifying against this when the username is unknown keeps the timing the same:
# hashed once per process and cost, so an unknown name costs one verification,
# as a known one does.
_DUMMY_HASH: dict[tuple[int, int], str] = {}


def _dummy_hash(ph: PasswordHasher) -> str:
    key = (ph.time_cost, ph.memory_cost)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = ph.hash("dummy-password")
    return _DUMMY_HASH[key]


def hasher() -> PasswordHasher:
    """Argon2id; the test configuration lowers the cost so the suite stays quick."""
    config = current_app.config
    return PasswordHasher(
        time_cost=config.get("ARGON2_TIME_COST", 3),
        memory_cost=config.get("ARGON2_MEMORY_COST", 65536),
    )


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    ph = hasher()
    if password_hash is None:
        password_hash = _dummy_hash(ph)
        expected = False
    else:
        expected = True
    try:
        ph.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return expected


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
