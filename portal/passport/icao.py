"""ICAO Doc 9303 Part 3 (section 6, "Transliterations recommended for use by States"):
names in the machine-readable form, A-Z and the filler ``<``, as the EU DCC's ``fnt`` and
``gnt`` carry them.

Vietnamese letters are Latin letters with diacritics (tones and the marks of ă, â, ê, ô, ơ,
ư): ICAO writes each as its base letter, and đ as D ("Nguyễn Thị Ánh" → NGUYEN<THI<ANH).
The few Latin letters that Doc 9303 writes with two letters (Ä → AE, Ø → OE, ß → SS …)
follow its table, for the foreigners vaccinated in Viet Nam. A space or a hyphen becomes
one filler; an apostrophe or a full stop is left out. A character the table does not cover
(another script, a digit) is refused: such a name is not issued a passport until it is
written in Latin letters.
"""

from __future__ import annotations

import unicodedata

# Doc 9303 Part 3, section 6.A: the Latin letters not written as their base letter.
MULTI = {
    "Å": "AA", "Ä": "AE", "Æ": "AE", "Ö": "OE", "Ø": "OE", "Œ": "OE", "Ü": "UE",
    "ß": "SS", "Þ": "TH", "Ĳ": "IJ",
}  # fmt: skip
# Letters that are not a base letter plus combining marks in Unicode.
SINGLE = {"Đ": "D", "Ð": "D", "Ħ": "H", "Ł": "L", "Ŀ": "L", "Ŧ": "T", "İ": "I"}
FILLER = "<"
SEPARATORS = {" ", "-", "\u2010", "\u2011", "\u00a0"}
OMITTED = {"'", "\u2019", ".", ","}
MAX_LENGTH = 80  # the schema's maxLength for fnt and gnt


class NotTransliterable(ValueError):
    """The name has a character outside Doc 9303's table."""

    def __init__(self, name: str, character: str) -> None:
        super().__init__(f"{character!r} in {name!r} has no ICAO 9303 transliteration")
        self.name = name
        self.character = character


def _letter(character: str) -> str | None:
    upper = character.upper()
    if upper in MULTI:
        return MULTI[upper]
    if upper in SINGLE:
        return SINGLE[upper]
    base = "".join(c for c in unicodedata.normalize("NFD", upper) if not unicodedata.combining(c))
    if len(base) == 1 and "A" <= base <= "Z":
        return base
    return None


def transliterate(name: str) -> str:
    """The name in Doc 9303's characters: ``Đặng Văn Hưởng`` → ``DANG<VAN<HUONG``."""
    out: list[str] = []
    for character in unicodedata.normalize("NFC", name.strip()):
        if character in SEPARATORS:
            if out and out[-1] != FILLER:
                out.append(FILLER)
            continue
        if character in OMITTED:
            continue
        letters = _letter(character)
        if letters is None:
            raise NotTransliterable(name, character)
        out.append(letters)
    text = "".join(out).rstrip(FILLER)
    return text[:MAX_LENGTH]
