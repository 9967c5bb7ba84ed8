"""Passwords: the one policy every path that sets one applies (the administrator's forms,
the command line, the demo), and hashing and checking in their normalised form."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from zxcvbn import zxcvbn

from portal.core.text import fold

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# zxcvbn's score: 3 is "safely unguessable" (about 10^8 guesses and more), which keeps out
# the common and leaked passwords of its dictionaries, keyboard runs, repeats and dates.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its time grows quickly with the length): beyond this the
# prefix decides.
_SCORED_PREFIX = 72
# Words that Vietnamese passwords are commonly built from, and the portal's own words:
# zxcvbn's dictionaries are English. Folded (no accents), as zxcvbn compares lower case.
COMMON_WORDS = (
    "matkhau",
    "anhyeuem",
    "emyeuanh",
    "yeuem",
    "yeuanh",
    "iloveyou",
    "vietnam",
    "hanoi",
    "saigon",
    "hochiminh",
    "tiemchung",
    "vacxin",
    "vaccine",
    "covid",
    "congan",
    "yte",
    "tramyte",
    "ubnd",
    "uyban",
    "quantri",
    "admin",
    "doisoat",
    "portal",
    "demo",
    "nguyen",
)
# Letters that show nothing: Hangul fillers and the blank Braille pattern.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def normalise_password(password: str | None) -> str:
    """NFKC: the same password typed with composed or decomposed accents, or full-width
    digits, is the same password."""
    return unicodedata.normalize("NFKC", password or "")


def secret_forms(secret: str | None) -> list[str]:
    """The forms a typed password or PIN is checked in: normalised (how it is set since
    issue 14, item 12), then as typed, for a hash or key file made before from a form that
    normalising changes (ASCII never does)."""
    normalised = normalise_password(secret)
    return [normalised] if normalised == (secret or "") else [normalised, secret or ""]


def _invisible(char: str) -> bool:
    """Control, format (zero-width), private, unassigned, separators other than the plain
    space: characters a person cannot see nor type again."""
    category = unicodedata.category(char)
    return (
        category in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp")
        or (category == "Zs" and char != " ")
        or char in _BLANK_LETTERS
    )


def _user_words(user_inputs: tuple[str | None, ...]) -> list[str]:
    """The inputs, with and without accents, and every run of their words written
    together (``Nguyễn Đức Anh`` gives ``nguyenducanh``, ``ducanh``…)."""
    words: list[str] = []
    for value in user_inputs:
        for form in {(value or "").lower(), fold(value)}:
            parts = [w for w in re.split(r"[\W_]+", form) if w]
            words.append(form)
            words.extend(
                "".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)
            )
    return [w for w in words if len(w) > 2]


def password_problem(password: str | None, *user_inputs: str | None) -> Any:
    """Why ``password`` cannot be set (a message for the person), or None. ``user_inputs``
    (the username, the person's name) count as easy to guess."""
    normalised = normalise_password(password)
    if any(_invisible(char) for char in normalised):
        return _l(
            "A password cannot contain invisible characters (zero-width, control or "
            "formatting characters, special spaces)."
        )
    if len(normalised) < MIN_PASSWORD_LENGTH:
        return _l("A password has at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    if len(normalised) > MAX_PASSWORD_LENGTH:
        return _l("A password has at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)
    strength = zxcvbn(
        normalised[:_SCORED_PREFIX], user_inputs=[*COMMON_WORDS, *_user_words(user_inputs)]
    )
    if strength["score"] < MIN_PASSWORD_SCORE:
        return _l(
            "This password is too easy to guess (a common or leaked password, a "
            "sequence, a repetition, a date or your name). Use three or four words "
            "that do not belong together."
        )
    return None


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
    """The hash of the normalised password."""
    return hasher().hash(normalise_password(password))


def matching_form(password_hash: str | None, password: str) -> str | None:
    """The form of ``password`` (see ``secret_forms``) that matches the hash, or None. An
    unknown user (no hash) costs the same verifications as a known one's wrong password."""
    ph = hasher()
    expected = password_hash is not None
    checked = password_hash if password_hash is not None else _dummy_hash(ph)
    for form in secret_forms(password):
        try:
            ph.verify(checked, form)
        except (VerificationError, InvalidHashError):
            continue
        return form if expected else None
    return None


def verify_password(password_hash: str | None, password: str) -> bool:
    return matching_form(password_hash, password) is not None


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)
