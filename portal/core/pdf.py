"""The portal's PDF toolkit: official Vietnamese documents laid out after Decree
30/2020/NĐ-CP (appendix I) with reportlab.

Fonts (Noto Serif, embedded: the standard PDF fonts have no Vietnamese letters), made
once per process for each subset; the margins; the heading (unit and its superior left,
the national motto right, then the place and date); the date line; grid tables; page
numbers and a draft's watermark. Each domain builds its own documents from these (the
handover list in ``worklists.pdf``, the signed documents in ``signing.documents``, the
dashboard's report in ``dashboard.report``); what a document says stays in its domain.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from portal.core.clock import format_birth

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
REGULAR, BOLD, ITALIC = "NotoSerif", "NotoSerif-Bold", "NotoSerif-Italic"
# Decree 30/2020, appendix I: left 30-35 mm, right 15-20 mm, top and bottom 20-25 mm.
LEFT_MARGIN, RIGHT_MARGIN = 30 * mm, 15 * mm
PAGE_WIDTH = A4[0] - LEFT_MARGIN - RIGHT_MARGIN


# Every letter of Vietnamese, precomposed (NFC), after printable ASCII and the punctuation
# the documents use: see fix_subsets.
_VOWELS = "aăâeêioôơuưy"
VIETNAMESE_LETTERS = "".join(
    sorted(
        {
            unicodedata.normalize("NFC", vowel + tone)
            for vowel in _VOWELS + _VOWELS.upper()
            for tone in ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323")
        }
        | set("ăâêôơưđĂÂÊÔƠƯĐ")
    )
)
SUBSET_ALPHABET = "".join(chr(code) for code in range(32, 127)) + VIETNAMESE_LETTERS + "–—‘’“”…"


@functools.lru_cache(maxsize=16)
def _subset_program(face: TTFontFace, codes: tuple[int, ...]) -> bytes:
    return TTFontFace.makeSubset(face, list(codes))


@functools.lru_cache(maxsize=16)
def _deflated(content: bytes | str) -> bytes:
    """What reportlab's Flate filter makes of ``content``."""
    return pdfdoc.PDFZCompress.encode(content)


@functools.lru_cache(maxsize=16)
def _pdf_array(values: tuple[Any, ...]) -> bytes:
    return pdfdoc.PDFArray(values).format(pdfdoc.DummyDoc())


class _Formatted(pdfdoc.PDFObject):
    """A PDF value formatted once (a subset's widths)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def format(self, document: Any) -> bytes:
        return self.data


def _deflate_once(stream: Any) -> None:
    """Give a stream that reportlab would deflate for each document its content deflated
    once per process instead (the same bytes)."""
    if (
        isinstance(stream, pdfdoc.PDFStream)
        and stream.filters == [pdfdoc.PDFZCompress]
        and "Filter" not in stream.dictionary.dict
    ):
        stream.content = _deflated(stream.content)
        stream.filters = None
        stream.dictionary["Filter"] = pdfdoc.PDFArray([pdfdoc.PDFName("FlateDecode")])


class _SubsetCachingFace(TTFontFace):
    def makeSubset(self, subset):  # noqa: N802  (reportlab's name)
        return _subset_program(self, tuple(subset))

    def addSubsetObjects(self, doc, fontname, subset):  # noqa: N802
        reference = super().addSubsetObjects(doc, fontname, subset)
        # the font program reportlab just registered under this name
        _deflate_once(doc.idToObject.get(f"fontFile:{self.filename}({fontname})"))
        return reference


class SubsetCachingTTFont(TTFont):
    """A TrueType font whose per-document objects (the subset's font program, deflated, its
    widths and ToUnicode map) are made once per process for each distinct subset, with the
    same bytes as reportlab's own. Documents whose subsets repeat (see fix_subsets) skip
    reportlab's pure-Python subsetting and the compression; others pay a few hash look-ups."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name, filename)
        # reportlab's TTFont builds its face itself; the subclass only adds the memo above.
        self.face.__class__ = _SubsetCachingFace

    def addObjects(self, doc: Any) -> None:  # noqa: N802
        state = self.state.get(doc)
        count = len(state.subsets) if state is not None else 0
        names = [self.getSubsetInternalName(n, doc)[1:] for n in range(count)]
        super().addObjects(doc)
        fonts = doc.idToObject["BasicFonts"].dict
        for name in names:
            font = fonts.get(name)
            if not isinstance(font, pdfdoc.PDFTrueTypeFont):
                continue
            if isinstance(font.Widths, pdfdoc.PDFArray):
                font.Widths = _Formatted(_pdf_array(tuple(font.Widths.sequence)))
            _deflate_once(doc.idToObject.get(f"toUnicodeCMap:{font.BaseFont}"))


def fix_subsets(page: canvas.Canvas, *font_names: str) -> None:
    """Give ASCII and every Vietnamese letter its code in each font before anything is drawn.

    reportlab numbers a font's characters in the order a document first uses them, so two
    certificates for different names embed different subsets, each built with Python and
    deflated again. With the alphabet fixed first, every such document embeds the same subset
    of each font (about 20 kB deflated, against 9 kB for only the letters used), which
    SubsetCachingTTFont makes once per process. A character outside the alphabet still works:
    it only makes that document's subset its own.
    """
    for name in font_names:
        # The canvas' document is where reportlab keeps a font's per-document numbering.
        pdfmetrics.getFont(name).splitString(SUBSET_ALPHABET, page._doc)


@functools.cache
def register_fonts() -> None:
    """Once per process: reportlab keeps registered fonts in a global registry (where a
    font registered later for one of these faces, under any name, becomes an alias of it)."""
    pdfmetrics.registerFont(SubsetCachingTTFont(REGULAR, str(FONT_DIR / "NotoSerif-Regular.ttf")))
    pdfmetrics.registerFont(SubsetCachingTTFont(BOLD, str(FONT_DIR / "NotoSerif-Bold.ttf")))
    pdfmetrics.registerFont(SubsetCachingTTFont(ITALIC, str(FONT_DIR / "NotoSerif-Italic.ttf")))
    pdfmetrics.registerFontFamily(
        REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD
    )


def paragraph_style(
    name: str,
    font: str = REGULAR,
    size: float = 12,
    align: int = TA_CENTER,
    leading: float | None = None,
    **kw: Any,
) -> ParagraphStyle:
    return ParagraphStyle(
        name, fontName=font, fontSize=size, leading=leading or size * 1.3, alignment=align, **kw
    )


def date_line(place: str, day: date) -> str:
    """Decree 30/2020: a leading zero for days below 10 and for months 1 and 2 only."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def full_name(area: Any) -> str:
    """'Cao Bằng' (a tỉnh) -> 'Tỉnh Cao Bằng'; 'Thành phố Hà Nội' stays as it is."""
    if (area.division_type or "").strip().lower() == "tỉnh" and not area.name.lower().startswith(
        "tỉnh"
    ):
        return f"Tỉnh {area.name}"
    return area.name


def place_name(area: Any) -> str:
    """The place on the date line is the commune's own name, without 'Xã'/'Phường'."""
    kind = (area.division_type or "").strip()
    if kind and area.name.lower().startswith(kind.lower() + " "):
        return area.name[len(kind) + 1 :]
    return area.name


def birth_text(value: str | None, precision: str | None) -> str:
    """As precise as it is known: dd/mm/yyyy, mm/yyyy or yyyy."""
    if not value:
        return ""
    return format_birth(date.fromisoformat(value), precision)  # a snapshot's ISO date


class Underline(Flowable):
    """The short rule under the unit name and under the motto."""

    def __init__(self, width: float) -> None:
        super().__init__()
        self.line_width = width
        self.width = width
        self.height = 2

    def wrap(self, available_width, available_height):
        self.available = available_width
        return available_width, self.height

    def draw(self) -> None:
        left = (self.available - self.line_width) / 2
        self.canv.setLineWidth(0.6)
        self.canv.line(left, 1, left + self.line_width, 1)


def numbered_canvas(draft: bool, number_single_page: bool = True):
    """A canvas class that writes 'Trang x/y' (and, for a draft, a watermark); with
    ``number_single_page`` false a one-page document gets no page number."""

    class NumberedCanvas(canvas.Canvas):
        """'Trang x/y' needs the page count, so pages are drawn once all are laid out."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Otherwise the canvas starts in Helvetica, a font the document never uses.
            kwargs.setdefault("initialFontName", REGULAR)
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self):  # noqa: N802  (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self._decorate(total)
                super().showPage()
            super().save()

        def _decorate(self, total: int) -> None:
            width, _height = A4
            if total > 1 or number_single_page:
                self.setFont(REGULAR, 9)
                self.drawCentredString(width / 2, 10 * mm, f"Trang {self._pageNumber}/{total}")
            if draft:
                self.saveState()
                self.setFillColor(colors.Color(0.85, 0.1, 0.1, alpha=0.12))
                self.setFont(BOLD, 72)
                self.translate(width / 2, A4[1] / 2)
                self.rotate(40)
                self.drawCentredString(0, 0, "BẢN NHÁP")
                self.restoreState()

    return NumberedCanvas


class SlotMarker(Flowable):
    """Draws nothing and takes no room: records where the signer's gap starts, so that a
    digital signature's stamp can be placed in it (portal.signing)."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__()
        self.record = record
        self.width = self.height = 0

    def wrap(self, available_width, available_height):
        self.record["width"] = available_width
        return 0, 0

    def draw(self) -> None:
        self.record["x"], self.record["y"] = self.canv.absolutePosition(0, 0)
        self.record["page"] = self.canv.getPageNumber() - 1


@dataclass(frozen=True)
class Heading:
    superior: str  # e.g. "UBND THÀNH PHỐ HÀ NỘI"
    unit: str  # e.g. "ỦY BAN NHÂN DÂN PHƯỜNG BA ĐÌNH"
    number: str  # e.g. "Số: 12/DS-UBND"
    place: str
    day: date


def document_styles() -> dict[str, Any]:
    return {
        "small": paragraph_style("small", size=11),
        "small_bold": paragraph_style("small_bold", BOLD, 11),
        "italic": paragraph_style("italic", ITALIC, 12),
        "title": paragraph_style("title", BOLD, 14, spaceBefore=6, spaceAfter=2),
        "subtitle": paragraph_style("subtitle", BOLD, 12),
        "cell": paragraph_style("cell", size=9.5, align=TA_LEFT, leading=12),
        "cell_c": paragraph_style("cell_c", size=9.5, leading=12),
        "head": paragraph_style("head", BOLD, 9.5, leading=12),
        "body": paragraph_style("body", size=12, align=TA_LEFT),
        "signer": paragraph_style("signer", BOLD, 12),
        "hint": paragraph_style("hint", ITALIC, 11),
        "name": paragraph_style("name", BOLD, 12),
    }


def heading_flowables(
    heading: Heading, st: dict[str, Any], width: float = PAGE_WIDTH
) -> list[Flowable]:
    """Decree 30's heading: unit (and its superior) left, national motto right, then the
    place and date; ``width`` is the text width of the page (portrait A4 by default)."""
    left: list[Flowable] = []
    if heading.superior:
        left.append(Paragraph(escape(heading.superior), st["small"]))
    left += [
        Paragraph(escape(heading.unit).replace("\n", "<br/>"), st["small_bold"]),
        Underline(30 * mm),
        Spacer(1, 3),
        Paragraph(escape(heading.number), st["small"]),
    ]
    right = [
        Paragraph("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", st["small_bold"]),
        Paragraph("Độc lập - Tự do - Hạnh phúc", paragraph_style("motto", BOLD, 12)),
        Underline(55 * mm),
    ]
    columns = [width * 0.42, width * 0.58]
    table = Table([[left, right]], colWidths=columns)
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    date_row = Table(
        [["", Paragraph(escape(date_line(heading.place, heading.day)), st["italic"])]],
        colWidths=columns,
    )
    date_row.setStyle(
        TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0)])
    )
    return [table, Spacer(1, 4), date_row, Spacer(1, 8)]


def grid_table(rows: list[list[Any]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table
