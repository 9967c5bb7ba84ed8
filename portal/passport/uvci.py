"""The Unique Vaccination Certificate Identifier (``ci``), in the format of the eHealth
Network's guidelines on verifiable vaccination certificates, Annex 2:
``URN:UVCI:01:VN:<issuer>/<opaque>#<check>``.

Version 01 is the schema "identifier with issuing entity": the issuer is the Department of
Preventive Medicine (Cục Y tế dự phòng, "YTDP"), the opaque part random so that the
number of passports issued cannot be read from it. The check character is the Luhn mod N
one of the guidelines, over the whole identifier before ``#`` (the reference
implementation in eu-dcc-schema/examples/Luhn-Mod-N).
"""

from __future__ import annotations

import re
import secrets

PREFIX = "URN:UVCI:01:VN:"
ISSUER = "YTDP"
# The guidelines' character set for the checksum (upper-case letters, digits, "/" and ":").
CODE_POINTS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:"
OPAQUE = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # without 0/O and 1/I, read aloud on the phone
OPAQUE_LENGTH = 16
PATTERN = re.compile(r"^URN:UVCI:01:[A-Z]{2}:[A-Z0-9/]+#[A-Z0-9/:]$")


def _luhn_mod_n(text: str, factor: int) -> int:
    n = len(CODE_POINTS)
    total = 0
    for character in reversed(text):
        addend = factor * CODE_POINTS.index(character)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return total % n


def check_character(text: str) -> str:
    n = len(CODE_POINTS)
    return CODE_POINTS[(n - _luhn_mod_n(text, 2)) % n]


def is_valid(uvci: str) -> bool:
    """A UVCI in this format whose check character matches."""
    if not PATTERN.match(uvci):
        return False
    body, check = uvci.rsplit("#", 1)
    return _luhn_mod_n(body + check, 1) == 0


def new() -> str:
    opaque = "".join(secrets.choice(OPAQUE) for _ in range(OPAQUE_LENGTH))
    body = f"{PREFIX}{ISSUER}/{opaque}"
    return f"{body}#{check_character(body)}"
