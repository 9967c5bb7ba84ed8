"""The handover list as an official document (Decree 30/2020/NĐ-CP layout), in Vietnamese.

The document is always Vietnamese, whatever the user's language: it is an administrative
paper that the police sign and the health station files. Its fonts, heading and page
furniture are the portal's PDF toolkit (``portal.core.pdf``).
"""

from __future__ import annotations

from datetime import datetime
from io import BytesIO
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from portal.areas.models import Area
from portal.core.clock import vietnam_date
from portal.core.labels import InVietnamese
from portal.core.pdf import (
    BOLD,
    ITALIC,
    LEFT_MARGIN,
    PAGE_WIDTH,
    RIGHT_MARGIN,
    Heading,
    SlotMarker,
    birth_text,
    document_styles,
    full_name,
    grid_table,
    heading_flowables,
    numbered_canvas,
    paragraph_style,
    place_name,
    register_fonts,
)
from portal.records.labels import SEX_LABELS
from portal.registry.labels import OUTCOME_LABELS
from portal.worklists.labels import RESULT_LABELS

# The owning domains' words, in Vietnamese (signing's documents read SEX too).
SEX = InVietnamese(SEX_LABELS)
RESULT = InVietnamese(RESULT_LABELS)
OUTCOME = InVietnamese(OUTCOME_LABELS)


def result_text(snapshot: dict[str, Any]) -> str:
    return RESULT.get(snapshot.get("status") or "") or OUTCOME.get(
        snapshot.get("outcome") or "", snapshot.get("status") or ""
    )


def build_pdf(
    worklist: Any,
    members: list[Any],
    creator_name: str | None,
    moment: datetime | None,
    draft: bool = False,
    signature_gap: dict[str, Any] | None = None,
) -> bytes:
    """The handover list; ``moment`` is the hand-over time (now, for a draft).
    ``signature_gap`` receives where the gap above the creator's name lies (page, x, y)."""
    register_fonts()
    area: Area = worklist.area
    province = area.province
    unit = f"CÔNG AN {area.name.upper()}"
    superior = f"CÔNG AN {full_name(province).upper()}" if province is not None else ""
    day = vietnam_date(moment)

    title = paragraph_style("title", BOLD, 14, spaceBefore=6, spaceAfter=2)
    draft_style = paragraph_style("draft", BOLD, 13, textColor=colors.HexColor("#b00020"))
    cell = paragraph_style("cell", size=10, align=TA_LEFT, leading=12.5)
    cell_c = paragraph_style("cell_c", size=10, leading=12.5)
    head = paragraph_style("head", BOLD, 10, leading=12.5)
    body = paragraph_style("body", size=12, align=TA_LEFT)

    document_number = "Số: ....../DS-CA" if draft else f"Số: {worklist.id}/DS-CA"
    heading = Heading(superior, unit, document_number, place_name(area), day)
    story: list[Flowable] = heading_flowables(heading, document_styles())
    if draft:
        story.append(Paragraph("BẢN NHÁP – CHƯA BÀN GIAO", draft_style))
    story.append(Paragraph("DANH SÁCH BÀN GIAO KẾT QUẢ XÁC MINH", title))
    story.append(
        Paragraph(
            escape(f"Thông tin nhân thân người đã tiêm vắc xin COVID-19 – {area.name}"),
            paragraph_style("subtitle", BOLD, 12),
        )
    )
    story.append(Spacer(1, 8))

    rows: list[list[Any]] = [
        [
            Paragraph(text, head)
            for text in (
                "STT",
                "Họ và tên",
                "Giới tính",
                "Ngày sinh",
                "Số định danh",
                "Kết quả xác minh",
            )
        ]
    ]
    for number, member in enumerate(members, 1):
        snap = member.snapshot or {}
        rows.append(
            [
                Paragraph(str(number), cell_c),
                Paragraph(escape(snap.get("full_name") or ""), cell),
                Paragraph(SEX.get(snap.get("sex") or "", ""), cell_c),
                Paragraph(birth_text(snap.get("birth_date"), snap.get("birth_precision")), cell_c),
                Paragraph(escape(snap.get("id_number") or ""), cell_c),
                Paragraph(escape(result_text(snap)), cell),
            ]
        )
    widths = [11 * mm, 42 * mm, 14 * mm, 25 * mm, 28 * mm]
    widths.append(PAGE_WIDTH - sum(widths))
    table = grid_table(rows, widths)
    story.append(table)
    story.append(Spacer(1, 6))
    story.append(Paragraph(f"Tổng số: {len(members)} người.", body))
    if worklist.note:
        story.append(Paragraph(f"Ghi chú: {escape(worklist.note)}", body))
    story.append(Spacer(1, 12))

    signer = paragraph_style("signer", BOLD, 12)
    hint = paragraph_style("hint", ITALIC, 11)
    name = paragraph_style("name", BOLD, 12, spaceBefore=55)
    signatures = Table(
        [
            [
                [
                    Paragraph("ĐẠI DIỆN TRẠM Y TẾ NHẬN", signer),
                    Paragraph("(Ký, ghi rõ họ tên)", hint),
                ],
                [
                    Paragraph("NGƯỜI LẬP DANH SÁCH", signer),
                    Paragraph("(Ký, ghi rõ họ tên)", hint),
                    *([SlotMarker(signature_gap)] if signature_gap is not None else []),
                    Paragraph(escape(creator_name or ""), name),
                ],
            ]
        ],
        colWidths=[PAGE_WIDTH / 2, PAGE_WIDTH / 2],
    )
    signatures.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(KeepTogether([signatures]))

    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=LEFT_MARGIN,
        rightMargin=RIGHT_MARGIN,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Danh sách bàn giao kết quả xác minh – {area.name}",
        author=unit,
        subject=worklist.title,
        creator="Cổng đối soát dữ liệu tiêm chủng",
        invariant=1,
    )
    document.build(story, canvasmaker=numbered_canvas(draft))
    return buffer.getvalue()
