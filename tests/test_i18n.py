"""Every text of the interface exists in Vietnamese, the default language."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_text_has_a_vietnamese_translation():
    with open(ROOT / "portal/translations/vi/LC_MESSAGES/messages.po", "rb") as handle:
        catalog = read_po(handle, locale="vi")
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and m.string
        and all(m.string if isinstance(m.string, tuple) else [m.string])
        and "fuzzy" not in m.flags
    }
    missing = sorted(_source_messages() - translated)
    assert not missing, f"untranslated (run `make extract` and translate): {missing}"


def test_no_text_to_translate_hides_inside_an_f_string():
    """babel's extractor reads no call inside an f-string: such a text is never extracted,
    so `make extract` drops its translation and the page shows English (the dashboard's
    "Week beginning (Monday)" was lost that way). Call _() outside the f-string."""
    import io
    import re
    import tokenize

    call = re.compile(r"\{[^{}]*\b(_|_l|gettext|lazy_gettext|ngettext)\(")
    found = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text("utf-8")).readline)
        for token in tokens:
            if (
                token.type == tokenize.STRING
                and "f" in token.string.split("'")[0].split('"')[0].lower()
                and call.search(token.string)
            ):
                found.append(f"{path.relative_to(ROOT)}:{token.start[0]}")
    assert found == []


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Đăng nhập" in page and "Tên đăng nhập" in page
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/login"})
    english = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in english and "Username" in english
