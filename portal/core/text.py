"""Vietnamese text: folding for search and a collation key for sorting.

Search folds away tone marks, vowel modifiers, case and spacing, so that
``nguyen van a`` finds ``Nguyễn Văn A`` and ``d`` finds ``đ``. Sorting keeps
the Vietnamese alphabet (a < ă < â < b ... d < đ ...), orders by given name
first as official lists do, and breaks ties by tone; the key is plain ASCII so
SQLite and PostgreSQL (with the "C" collation) order it identically.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACES = re.compile(r"\s+")
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
_MODIFIERS = {"\u0306": "\u0306", "\u0302": "\u0302", "\u031b": "\u031b"}
_ALPHABET = [
    "a", "a\u0306", "a\u0302", "b", "c", "d", "đ", "e", "e\u0302", "f", "g", "h", "i",
    "j", "k", "l", "m", "n", "o", "o\u0302", "o\u031b", "p", "q", "r", "s", "t", "u",
    "u\u031b", "v", "w", "x", "y", "z",
]  # fmt: skip
_CODES = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PRIMARY = {letter: _CODES[i] for i, letter in enumerate(_ALPHABET)}


def normalise_spaces(value: str) -> str:
    return _SPACES.sub(" ", value).strip()


def norm(value: str | None) -> str:
    """Composed Unicode, lowercase, single spaces: differences left are diacritics or letters."""
    if not value:
        return ""
    return normalise_spaces(unicodedata.normalize("NFC", value).lower())


def fold(value: str | None) -> str:
    """Lowercase, without diacritics, đ as d, single spaces."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "d"))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return normalise_spaces(stripped.lower())


def _letters(word: str) -> list[tuple[str, str]]:
    """Split a word into (letter with modifier, tone digit) pairs."""
    out: list[tuple[str, str]] = []
    for char in unicodedata.normalize("NFD", word.lower()):
        if char in _TONES:
            if out:
                out[-1] = (out[-1][0], _TONES[char])
        elif char in _MODIFIERS:
            if out:
                out[-1] = (out[-1][0] + char, out[-1][1])
        elif unicodedata.combining(char):
            continue
        else:
            out.append((char, "0"))
    return out


@lru_cache(maxsize=8192)
def _word_key(word: str) -> tuple[str, str]:
    """(primary key, tone digits) of one word: names share a few thousand words, so an
    import of 50,000 persons works each one out once."""
    letters = _letters(word)
    primary = "".join(
        _PRIMARY.get(letter, letter if letter.isdigit() else "~") for letter, _ in letters
    )
    return primary, "".join(tone for _, tone in letters)


def collation_key(value: str | None) -> str:
    """ASCII key ordering any text (a commune's, a site's name) in the Vietnamese alphabet,
    word by word as written, then by tones: "Phường Đống Đa" after "Phường Dịch Vọng" and
    before "Phường Giảng Võ", where a byte order puts every Đ after Z."""
    words = normalise_spaces(value or "").split(" ")
    keys = [_word_key(word) for word in words if word]
    return " ".join(primary for primary, _ in keys) + " " + "".join(t for _, t in keys)


def sort_key(full_name: str | None) -> str:
    """ASCII key ordering names the Vietnamese way: given name, then the rest, then tones."""
    words = normalise_spaces(full_name or "").split(" ")
    if not words or words == [""]:
        return ""
    keys = [_word_key(word) for word in words]
    rest = " ".join(primary for primary, _ in keys[:-1])
    return f"{keys[-1][0]} {rest} {''.join(tones for _, tones in keys)}"
