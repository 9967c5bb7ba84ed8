"""Showing a record beside its register entry with the differing characters marked."""

from __future__ import annotations

from difflib import SequenceMatcher

from markupsafe import Markup, escape


def mark_differences(
    record: str | None, register: str | None, whole: bool = False
) -> tuple[Markup, Markup]:
    """Both texts, HTML-escaped, with the characters that differ wrapped in <mark>;
    ``whole`` marks the whole value when it differs (a word like a sex is one unit)."""
    a, b = record or "", register or ""
    if whole:
        if a == b or not b:
            return Markup(escape(a)), Markup(escape(b))
        return Markup(f"<mark>{escape(a)}</mark>"), Markup(f"<mark>{escape(b)}</mark>")
    left: list[str] = []
    right: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            left.append(str(escape(a[i1:i2])))
            right.append(str(escape(b[j1:j2])))
            continue
        if i2 > i1:
            left.append(f"<mark>{escape(a[i1:i2])}</mark>")
        if j2 > j1:
            right.append(f"<mark>{escape(b[j1:j2])}</mark>")
    return Markup("".join(left)), Markup("".join(right))
