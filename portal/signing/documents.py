"""The documents that are signed, as Vietnamese PDFs laid out after Decree 30/2020/NĐ-CP:
the committee's confirmation list, a vaccination site's daily confirmation list, a person's
vaccination certificate with a QR code, and the minutes (biên bản) used without a certificate.

Each builder returns the PDF and where its signature goes (page and box), recorded while
reportlab lays the page out, so the visible stamp lands in the signature block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from portal.core.pdf import (
    BOLD,
    ITALIC,
    LEFT_MARGIN,
    PAGE_WIDTH,
    REGULAR,
    RIGHT_MARGIN,
    Heading,
    birth_text,
    date_line,
    document_styles,
    fix_subsets,
    full_name,
    grid_table,
    heading_flowables,
    numbered_canvas,
    paragraph_style,
    place_name,
    register_fonts,
)
from portal.worklists.pdf import SEX

SLOT_WIDTH, SLOT_HEIGHT = 72 * mm, 20 * mm
BASIS = {
    "matched": "Khớp CSDL dân cư",
    "verified": "Công an đã xác minh",
    "needs_reconfirmation": "Xác nhận lại sau khi sửa",
}


@dataclass
class Slot:
    page: int = 0
    box: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class Built:
    content: bytes
    slot: Slot
    extra_slots: list[Slot] = field(default_factory=list)


class SignatureSlot(Flowable):
    """Empty room for the signature stamp; remembers where it was drawn."""

    def __init__(self, slot: Slot, width: float = SLOT_WIDTH, height: float = SLOT_HEIGHT):
        super().__init__()
        self.slot = slot
        self.width, self.height = width, height

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self) -> None:
        x, y = self.canv.absolutePosition(0, 0)
        self.slot.page = self.canv.getPageNumber() - 1
        self.slot.box = (int(x), int(y), int(x + self.width), int(y + self.height))


# 'Trang x/y' on documents of more than one page (the handover list's canvas).
_PagedCanvas = numbered_canvas(draft=False, number_single_page=False)
PREVIEW_MARK = "BẢN XEM TRƯỚC"


class _PreviewCanvas(_PagedCanvas):  # type: ignore[misc,valid-type]
    """A preview's every page says so: a line at the top and a watermark across the page.
    Signed documents are built on _PagedCanvas and never carry it."""

    def _decorate(self, total: int) -> None:
        super()._decorate(total)
        width, height = A4
        self.saveState()
        self.setFillColor(colors.Color(0.8, 0.1, 0.1))
        self.setFont(BOLD, 11)
        self.drawCentredString(
            width / 2, height - 12 * mm, f"{PREVIEW_MARK} – CHƯA KÝ, KHÔNG CÓ GIÁ TRỊ XÁC NHẬN"
        )
        self.setFillColor(colors.Color(0.85, 0.1, 0.1, alpha=0.12))
        self.setFont(BOLD, 60)
        self.translate(width / 2, height / 2)
        self.rotate(40)
        self.drawCentredString(0, 0, PREVIEW_MARK)
        self.restoreState()


def signature_block(
    role_lines: list[str],
    signer_name: str,
    slot: Slot,
    st: dict[str, Any],
    left: list[Flowable] | None = None,
) -> Flowable:
    right: list[Flowable] = [Paragraph(escape(line), st["signer"]) for line in role_lines]
    right += [
        Paragraph("(Ký số)", st["hint"]),
        SignatureSlot(slot),
        Paragraph(escape(signer_name), st["name"]),
    ]
    block = Table([[left or "", right]], colWidths=[PAGE_WIDTH - 80 * mm, 80 * mm])
    block.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "CENTER")])
    )
    return KeepTogether([block])


def _build(story: list[Flowable], title: str, author: str, preview: bool = False) -> bytes:
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=LEFT_MARGIN,
        rightMargin=RIGHT_MARGIN,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=title,
        author=author,
        creator="Cổng đối soát dữ liệu tiêm chủng",
        invariant=1,
    )
    document.build(story, canvasmaker=_PreviewCanvas if preview else _PagedCanvas)
    return buffer.getvalue()


def commune_heading(commune: Any, number: str, day: date) -> Heading:
    province = commune.province
    superior = f"UBND {full_name(province).upper()}" if province is not None else ""
    return Heading(
        superior, f"ỦY BAN NHÂN DÂN\n{commune.name.upper()}", number, place_name(commune), day
    )


def person_rows(
    persons: list[dict[str, Any]], st: dict[str, Any], with_basis: bool = True
) -> list[list[Any]]:
    """Header paragraphs; then plain strings for the short cells and a paragraph only for the
    name (which may wrap): a paragraph per cell makes a 500-row list several times slower."""
    header = ["STT", "Họ và tên", "Giới tính", "Ngày sinh", "Số định danh", "Số mũi"]
    if with_basis:
        header.append("Căn cứ xác nhận")
    rows: list[list[Any]] = [[Paragraph(text, st["head"]) for text in header]]
    for number, person in enumerate(persons, 1):
        row: list[Any] = [
            str(number),
            Paragraph(escape(person.get("full_name") or ""), st["cell"]),
            SEX.get(person.get("sex") or "", ""),
            birth_text(person.get("birth_date"), person.get("birth_precision")),
            person.get("id_number") or "",
            str(person.get("doses") or 0),
        ]
        if with_basis:
            row.append(BASIS.get(person.get("status") or "", ""))
        rows.append(row)
    return rows


def _list_table(rows: list[list[Any]], widths: list[float]) -> Table:
    table = grid_table(rows, widths)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 1), (-1, -1), REGULAR),
                ("FONTSIZE", (0, 1), (-1, -1), 9.5),
                ("ALIGN", (0, 1), (0, -1), "CENTER"),
                ("ALIGN", (2, 1), (5, -1), "CENTER"),
            ]
        )
    )
    return table


def committee_list(
    commune: Any,
    persons: list[dict[str, Any]],
    signer_name: str,
    signer_title: str,
    number: str,
    day: date,
    preview: bool = False,
) -> Built:
    """Danh sách xác nhận: the commune's verified persons, signed by the committee chair."""
    register_fonts()
    st = document_styles()
    slot = Slot()
    story = heading_flowables(commune_heading(commune, number, day), st)
    story += [
        Paragraph("DANH SÁCH XÁC NHẬN THÔNG TIN TIÊM CHỦNG VẮC XIN COVID-19", st["title"]),
        Paragraph(
            escape(f"Người đã được xác thực với Cơ sở dữ liệu quốc gia về dân cư – {commune.name}"),
            st["subtitle"],
        ),
        Spacer(1, 8),
    ]
    widths = [11 * mm, 39 * mm, 13 * mm, 23 * mm, 29 * mm, 12 * mm]
    widths.append(PAGE_WIDTH - sum(widths))
    story.append(_list_table(person_rows(persons, st), widths))
    story += [
        Spacer(1, 6),
        Paragraph(f"Tổng số: {len(persons)} người.", st["body"]),
        Paragraph(
            "Ủy ban nhân dân xác nhận thông tin tiêm chủng của những người có tên "
            "trên là chính xác.",
            st["body"],
        ),
        Spacer(1, 10),
    ]
    story.append(
        signature_block(["TM. ỦY BAN NHÂN DÂN", signer_title.upper()], signer_name, slot, st)
    )
    content = _build(
        story,
        f"Danh sách xác nhận thông tin tiêm chủng – {commune.name}",
        f"UBND {commune.name}",
        preview,
    )
    return Built(content, slot)


def site_daily_list(
    site: Any,
    day: date,
    persons: list[dict[str, Any]],
    signer_name: str,
    signer_title: str,
    number: str,
    preview: bool = False,
) -> Built:
    """Hộ chiếu vắc xin: the persons whose doses the site recorded that day."""
    register_fonts()
    st = document_styles()
    slot = Slot()
    heading = Heading("", site.name.upper(), number, place_name(site.commune), day)
    story = heading_flowables(heading, st)
    story += [
        Paragraph("DANH SÁCH XÁC NHẬN HỘ CHIẾU VẮC XIN", st["title"]),
        Paragraph(escape(f"Người được tiêm tại {site.name} ngày {day:%d/%m/%Y}"), st["subtitle"]),
        Spacer(1, 8),
    ]
    header = [
        "STT",
        "Họ và tên",
        "Giới tính",
        "Ngày sinh",
        "Số định danh",
        "Mũi",
        "Vắc xin",
        "Số lô",
    ]
    # Lines break between words only, never inside one ("Mũ/i"): the columns are wide
    # enough for their longest word, and a longer one overflows rather than splits.
    head, cell, cell_c = (
        paragraph_style(
            f"{k}_words",
            parent.fontName,
            parent.fontSize,
            parent.alignment,
            parent.leading,
            splitLongWords=0,
        )
        for k, parent in (("head", st["head"]), ("cell", st["cell"]), ("cell_c", st["cell_c"]))
    )
    rows: list[list[Any]] = [[Paragraph(text, head) for text in header]]
    for number_, person in enumerate(persons, 1):
        rows.append(
            [
                Paragraph(str(number_), cell_c),
                Paragraph(escape(person.get("full_name") or ""), cell),
                Paragraph(SEX.get(person.get("sex") or "", ""), cell_c),
                Paragraph(
                    birth_text(person.get("birth_date"), person.get("birth_precision")), cell_c
                ),
                Paragraph(escape(person.get("id_number") or ""), cell_c),
                Paragraph(str(person.get("dose_number") or ""), cell_c),
                Paragraph(escape(person.get("vaccine") or ""), cell),
                Paragraph(escape(person.get("lot") or ""), cell_c),
            ]
        )
    widths = [9 * mm, 31 * mm, 13 * mm, 21 * mm, 27 * mm, 11 * mm, 30 * mm]
    widths.append(PAGE_WIDTH - sum(widths))
    story.append(grid_table(rows, widths))
    story += [Spacer(1, 6), Paragraph(f"Tổng số: {len(persons)} người.", st["body"]), Spacer(1, 10)]
    story.append(signature_block(["THỦ TRƯỞNG CƠ SỞ TIÊM CHỦNG"], signer_name, slot, st))
    content = _build(
        story,
        f"Danh sách xác nhận hộ chiếu vắc xin – {site.name} – {day:%d/%m/%Y}",
        site.name,
        preview,
    )
    return Built(content, slot)


def qr_matrix(text: str) -> tuple[bytearray, ...]:
    """The modules (1 dark) of the QR code of ``text``, row by row from the top: error level
    M, byte mode, the smallest version that holds it, mask 2.

    A fixed mask: choosing the best of eight costs segno ~6 ms, more than half the page's
    budget, and any mask reads equally well. segno rather than our own encoder: 0.9 ms
    against 0.3, and the certificate still meets its targets (bench/RESULTS.md, issue 16).
    """
    return tuple(segno.make_qr(text, error="m", mask=2, boost_error=False).matrix)


class QrCode(Flowable):
    """The verification link as a QR code, drawn as one filled path."""

    def __init__(self, data: str, size: float = 32 * mm):
        super().__init__()
        self.matrix = qr_matrix(data)
        self.width = self.height = size

    def wrap(self, available_width, available_height):
        return self.width, self.height

    def draw(self) -> None:
        """Each row's runs of dark modules as rectangles of one filled path, in units of one
        module (small integers: formatting reportlab's float coordinates cost more)."""
        count = len(self.matrix)
        rects = []
        for row_index, row in enumerate(self.matrix):
            y = count - 1 - row_index
            start = None
            for col, dark in enumerate([*row, 0]):
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    rects.append(f"{start} {y} {col - start} 1 re")
                    start = None
        self.canv.saveState()
        self.canv.setFillColor(colors.black)
        self.canv.scale(self.width / count, self.height / count)
        self.canv.addLiteral("\n".join(rects) + "\nf")
        self.canv.restoreState()


def certificate(
    issuer_heading: Heading,
    person: dict[str, Any],
    doses: list[dict[str, Any]],
    verify_url: str,
    code: str,
    signer_name: str,
    signer_role: list[str],
) -> Built:
    """Chứng nhận tiêm chủng: one page, the four identity fields, the doses, a QR code.

    Drawn straight on the canvas with two fonts: platypus' layout and a third font cost more
    than the 10 ms a certificate may take (batches sign hundreds).
    """
    register_fonts()
    width, height = A4
    left, right = LEFT_MARGIN, width - RIGHT_MARGIN
    buffer = BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, invariant=1, initialFontName=REGULAR)
    fix_subsets(c, REGULAR, BOLD)
    c.setTitle("Chứng nhận tiêm chủng vắc xin COVID-19")
    c.setAuthor(issuer_heading.unit)
    c.setCreator("Cổng đối soát dữ liệu tiêm chủng")
    # Heading (Decree 30/2020): unit on the left, national heading on the right.
    left_mid = left + PAGE_WIDTH * 0.21
    right_mid = left + PAGE_WIDTH * 0.71
    y = height - 25 * mm
    if issuer_heading.superior:
        c.setFont(REGULAR, 11)
        c.drawCentredString(left_mid, y, issuer_heading.superior)
        y_unit = y - 14
    else:
        y_unit = y
    c.setFont(BOLD, 11)
    for line in issuer_heading.unit.split("\n"):
        c.drawCentredString(left_mid, y_unit, line)
        y_unit -= 14
    y_unit += 14
    c.setLineWidth(0.6)
    c.line(left_mid - 15 * mm, y_unit - 4, left_mid + 15 * mm, y_unit - 4)
    c.setFont(REGULAR, 11)
    c.drawCentredString(left_mid, y_unit - 18, issuer_heading.number)
    c.setFont(BOLD, 11)
    c.drawCentredString(right_mid, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    c.setFont(BOLD, 12)
    c.drawCentredString(right_mid, y - 14, "Độc lập - Tự do - Hạnh phúc")
    c.line(right_mid - 27 * mm, y - 18, right_mid + 27 * mm, y - 18)
    c.setFont(REGULAR, 12)
    c.drawCentredString(right_mid, y - 40, date_line(issuer_heading.place, issuer_heading.day))
    y -= 80
    c.setFont(BOLD, 15)
    c.drawCentredString(width / 2, y, "CHỨNG NHẬN TIÊM CHỦNG VẮC XIN COVID-19")
    y -= 34
    qr_size = 32 * mm
    qr = QrCode(verify_url, qr_size)
    qr.canv = c
    c.saveState()
    c.translate(right - qr_size, y - qr_size + 10)
    qr.draw()
    c.restoreState()
    facts = [
        ("Họ và tên:", person.get("full_name") or ""),
        ("Ngày sinh:", birth_text(person.get("birth_date"), person.get("birth_precision"))),
        ("Giới tính:", SEX.get(person.get("sex") or "", "")),
        ("Số định danh cá nhân:", person.get("id_number") or ""),
    ]
    for label, value in facts:
        c.setFont(REGULAR, 12)
        c.drawString(left, y, label)
        c.setFont(BOLD, 12)
        c.drawString(left + 50 * mm, y, value)
        y -= 20
    c.setFont(REGULAR, 9)
    c.drawString(left, y, f"Mã xác thực: {code}")
    y -= 26
    c.setFont(REGULAR, 12)
    c.drawString(left, y, "Đã tiêm các mũi vắc xin phòng COVID-19 sau:")
    y -= 10
    columns = [12 * mm, 24 * mm, 34 * mm, 22 * mm]
    columns.append(PAGE_WIDTH - sum(columns))
    edges = [left]
    for column in columns:
        edges.append(edges[-1] + column)
    header = ("Mũi", "Ngày tiêm", "Vắc xin", "Số lô", "Cơ sở tiêm chủng")
    rows = [header] + [
        (
            str(d.get("dose_number") or ""),
            d.get("vaccinated_on_text") or "",
            d.get("vaccine") or "",
            d.get("lot") or "",
            d.get("site") or "",
        )
        for d in doses
    ]
    row_height = 18
    top = y
    c.setFillColor(colors.HexColor("#eeeeee"))
    c.rect(left, top - row_height, PAGE_WIDTH, row_height, stroke=0, fill=1)
    c.setFillColor(colors.black)
    for index, row in enumerate(rows):
        baseline = top - (index + 1) * row_height + 5
        c.setFont(BOLD if index == 0 else REGULAR, 10)
        for column, text in enumerate(row):
            available = columns[column] - 6
            while text and c.stringWidth(text) > available:
                text = text[:-1]
            if column in (0, 1, 3) or index == 0:
                c.drawCentredString((edges[column] + edges[column + 1]) / 2, baseline, text)
            else:
                c.drawString(edges[column] + 3, baseline, text)
    bottom = top - len(rows) * row_height
    c.setLineWidth(0.5)
    for index in range(len(rows) + 1):
        c.line(left, top - index * row_height, right, top - index * row_height)
    for edge in edges:
        c.line(edge, top, edge, bottom)
    # Signature block on the right.
    y = bottom - 30
    centre = right - 40 * mm
    c.setFont(BOLD, 12)
    for line in signer_role:
        c.drawCentredString(centre, y, line)
        y -= 15
    c.setFont(REGULAR, 11)
    c.drawCentredString(centre, y, "(Ký số)")
    y -= 6
    box = (int(centre - SLOT_WIDTH / 2), int(y - SLOT_HEIGHT), int(centre + SLOT_WIDTH / 2), int(y))
    c.setFont(BOLD, 12)
    c.drawCentredString(centre, y - SLOT_HEIGHT - 16, signer_name)
    c.showPage()
    c.save()
    return Built(buffer.getvalue(), Slot(0, box))


def minutes(commune: Any, persons: list[dict[str, Any]], number: str, day: date) -> bytes:
    """Biên bản: without a certificate, the chair, the police and the health station sign on
    paper that the listed persons' data are accurate; the scan is uploaded afterwards."""
    register_fonts()
    st = document_styles()
    story = heading_flowables(commune_heading(commune, number, day), st)
    story += [
        Paragraph("BIÊN BẢN", st["title"]),
        Paragraph(
            "Xác nhận thông tin tiêm chủng vắc xin COVID-19 đã được làm sạch", st["subtitle"]
        ),
        Spacer(1, 8),
        Paragraph(
            escape(
                f"Hôm nay, {date_line(place_name(commune), day).split(', ', 1)[1]}, "
                f"tại trụ sở Ủy ban nhân dân {commune.name}, chúng tôi gồm: "
                "đại diện Ủy ban nhân dân (chủ trì), Công an và Trạm Y tế "
                f"{commune.name} đã cùng rà soát và thống nhất xác nhận thông tin "
                "tiêm chủng của những người có tên dưới đây là chính xác."
            ),
            paragraph_style("para", size=12, align=4),
        ),
        Spacer(1, 8),
    ]
    widths = [11 * mm, 39 * mm, 13 * mm, 23 * mm, 29 * mm, 12 * mm]
    widths.append(PAGE_WIDTH - sum(widths))
    story.append(_list_table(person_rows(persons, st), widths))
    story += [
        Spacer(1, 6),
        Paragraph(f"Tổng số: {len(persons)} người.", st["body"]),
        Paragraph(
            "Biên bản được lập thành 03 bản có giá trị như nhau, mỗi bên giữ 01 bản.", st["body"]
        ),
        Spacer(1, 12),
    ]
    cell = paragraph_style("sig_role", BOLD, 11)
    hint = paragraph_style("sig_hint", ITALIC, 10)
    parties = Table(
        [
            [
                [Paragraph("ĐẠI DIỆN TRẠM Y TẾ", cell), Paragraph("(Ký, ghi rõ họ tên)", hint)],
                [Paragraph("ĐẠI DIỆN CÔNG AN", cell), Paragraph("(Ký, ghi rõ họ tên)", hint)],
                [
                    Paragraph("TM. ỦY BAN NHÂN DÂN", cell),
                    Paragraph("CHỦ TỊCH", cell),
                    Paragraph("(Ký, ghi rõ họ tên, đóng dấu)", hint),
                ],
            ]
        ],
        colWidths=[PAGE_WIDTH / 3] * 3,
        rowHeights=[40 * mm],
    )
    parties.setStyle(
        TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")])
    )
    story.append(KeepTogether([parties]))
    return _build(
        story, f"Biên bản xác nhận thông tin tiêm chủng – {commune.name}", f"UBND {commune.name}"
    )


def dose_date_text(value: date | datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return value.strftime("%d/%m/%Y")
