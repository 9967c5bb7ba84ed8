"""The dated progress report sent upwards, as an official document (Decree 30/2020 layout).

Always in Vietnamese, like the other documents: it is paper for the administration. The
fonts, the heading, the date line and the page numbering are the portal's PDF toolkit
(portal.core.pdf).
"""

from __future__ import annotations

from datetime import date
from io import BytesIO
from xml.sax.saxutils import escape

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import ActionFlowable

from portal.areas.models import Area
from portal.auth.models import Role, User
from portal.core.pdf import (
    BOLD,
    ITALIC,
    LEFT_MARGIN,
    RIGHT_MARGIN,
    Heading,
    document_styles,
    full_name,
    heading_flowables,
    numbered_canvas,
    paragraph_style,
    place_name,
    register_fonts,
)
from portal.dashboard.labels import SHARE_LABELS
from portal.dashboard.queries import SHARES, Figures, Projection
from portal.records.labels import STATUS_LABELS
from portal.records.models import PersonStatus

UNIT_BY_ROLE = {
    Role.POLICE: "CÔNG AN",
    Role.HEALTH_STATION: "TRẠM Y TẾ",
    Role.COMMITTEE: "ỦY BAN NHÂN DÂN",
    Role.VACCINATION_SITE: "ĐIỂM TIÊM CHỦNG",
    Role.HEALTH_AUTHORITY: "SỞ Y TẾ",
    Role.ADMIN: "SỞ Y TẾ",
}
METRIC_TEXT = {
    "cleaned": "Làm sạch toàn bộ dữ liệu",
    "confirmed": "Xác nhận toàn bộ dữ liệu",
    "answered": "Trả lời toàn bộ phản ánh",
}


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}".replace(".", ",") + "%"


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def build_report(
    user: User,
    area: Area,
    figures: Figures,
    rows: list[Figures],
    projections: list[tuple],
    day: date,
    sites: bool = False,
) -> bytes:
    """The report: the rows of the dashboard's table (a commune's: its vaccination sites),
    their total, the deadlines, and the signature kept with the last lines."""
    register_fonts()
    story, signature_group = _story(user, area, figures, rows, projections, day, sites)
    pdf, alone = _build(user, area, [*story, *signature_group])
    if alone and hasattr(story[-1], "_rows"):
        # The signature block fell alone on the last page: the table's last rows go with it
        # (under the repeated heading), as an official document keeps its signature with
        # the text it signs.
        head, tail = _split_tail(*story[-1]._rows)
        pdf, _alone = _build(
            user, area, [*story[:-1], head, KeepTogether([tail, *signature_group])]
        )
    return pdf


TAIL_ROWS = 3  # the table's last rows (the total among them) kept with the signature


def _rows_table(data: list, widths: list, style: TableStyle) -> Table:
    """The report's table, which remembers its rows to give up the last ones later."""
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(style)
    table._rows = (data, widths, style)  # type: ignore[attr-defined]
    return table


def _split_tail(data: list, widths: list, style: TableStyle) -> tuple[Table, Table]:
    """The table without its last rows, and those rows under the table's heading."""
    keep = max(len(data) - TAIL_ROWS, 2)
    head = Table(data[:keep], colWidths=widths, repeatRows=1)
    tail = Table([data[0], *data[keep:]], colWidths=widths)
    head.setStyle(style)
    tail.setStyle(style)
    return head, tail


def _build(user: User, area: Area, story: list) -> tuple[bytes, bool]:
    """The PDF, and whether its signature block stands alone on its page."""
    output = BytesIO()
    document = SimpleDocTemplate(
        output,
        pagesize=landscape(A4),
        leftMargin=LEFT_MARGIN,
        rightMargin=RIGHT_MARGIN,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"Báo cáo tiến độ – {area.name}",
        author=user.display_name,
        subject="Báo cáo tiến độ làm sạch dữ liệu tiêm chủng",
    )
    pages: list[tuple[bool, int]] = []

    def after(flowable) -> None:
        # What draws something: not a spacer, nor the page break a KeepTogether puts before
        # the signature block when it moves it on (an action, reported from the new page:
        # counted, it hid the very case this check is for).
        if not isinstance(flowable, (Spacer, ActionFlowable)):
            pages.append((getattr(flowable, "_signature", False), document.page))

    document.afterFlowable = after  # type: ignore[method-assign]
    document.build(story, canvasmaker=numbered_canvas(False))
    signature_page = next((page for is_sig, page in pages if is_sig), None)
    alone = signature_page is not None and not any(
        page == signature_page for is_sig, page in pages if not is_sig
    )
    return output.getvalue(), alone


def _story(
    user: User,
    area: Area,
    figures: Figures,
    rows: list[Figures],
    projections: list[tuple],
    day: date,
    sites: bool,
) -> tuple[list, list]:
    unit_area = user.area
    unit = f"{UNIT_BY_ROLE.get(user.role, '')} {full_name(unit_area).upper()}".strip()
    superior = ""
    if unit_area.province is not None and unit_area.province_id != unit_area.id:
        superior = f"UBND {full_name(unit_area.province).upper()}"
    small_bold = paragraph_style("small_bold", BOLD, 11)
    title = paragraph_style("title", BOLD, 14, spaceBefore=6, spaceAfter=2)
    body = paragraph_style("body", size=12, align=TA_LEFT)
    # Words are never cut inside a syllable: a heading too long for its column wraps at
    # its spaces only.
    cell = paragraph_style("cell", size=9, align=TA_LEFT, leading=11, splitLongWords=0)
    cell_r = paragraph_style("cell_r", size=9, leading=11, align=TA_RIGHT, splitLongWords=0)
    head = paragraph_style("head", BOLD, 8, leading=10, splitLongWords=0)

    page = landscape(A4)
    width = page[0] - LEFT_MARGIN - RIGHT_MARGIN
    heading = Heading(superior, unit, "Số: ....../BC", place_name(unit_area), day)
    story = [
        *heading_flowables(heading, document_styles(), width),
        Paragraph("BÁO CÁO", title),
        Paragraph(
            escape(
                f"Tiến độ làm sạch và xác nhận dữ liệu tiêm chủng COVID-19 – "
                f"{area.name}, số liệu đến ngày {day:%d/%m/%Y}"
            ),
            paragraph_style("subtitle", BOLD, 12),
        ),
        Spacer(1, 10),
        Paragraph(
            escape(
                f"Tổng số đối tượng: {_n(figures.total)}; đã làm sạch: "
                f"{_n(figures.count(SHARES['cleaned']))} ({_pct(figures.cleaned)}); "
                f"đã xác nhận: {_n(figures.count(SHARES['confirmed']))} "
                f"({_pct(figures.confirmed)}); "
                f"còn phải sửa: {_n(figures.uncorrected)}."
            ),
            body,
        ),
        Spacer(1, 8),
    ]

    # The headings of the screen and of Excel, in Vietnamese like the whole document.
    with force_locale("vi"):
        header = [
            "STT",
            str(_l("Vaccination site") if sites else _l("Commune / ward")),
            *([str(_l("Doses"))] if sites else []),
            str(_l("Persons")),
            *(str(STATUS_LABELS[s]) for s in PersonStatus),
            *(str(SHARE_LABELS[key]) for key in SHARES),
        ]
    data = [[Paragraph(escape(h), head) for h in header]]

    def line(number: str, name: Paragraph, f: Figures, doses: int | None) -> list:
        return (
            [Paragraph(number, cell_r), name]
            + ([Paragraph("" if doses is None else _n(doses), cell_r)] if sites else [])
            + [Paragraph(_n(f.total), cell_r)]
            + [Paragraph(_n(f.by_status.get(s.value, 0)), cell_r) for s in PersonStatus]
            + [Paragraph(_pct(f.share_of(key)), cell_r) for key in SHARES]
        )

    for index, f in enumerate(rows, start=1):
        data.append(line(str(index), Paragraph(escape(f.name), cell), f, getattr(f, "doses", None)))
    data.append(line("", Paragraph("Tổng cộng", head), figures, None))
    first = 10 * mm
    name_w = 44 * mm
    # The columns of counts share what is left; the first (persons, or doses) holds the
    # largest numbers and gets a little more.
    counts = len(header) - 2
    rest = (width - first - name_w) / (counts + 0.3)
    widths = [first, name_w, rest * 1.3] + [rest] * (counts - 1)
    style = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("LEFTPADDING", (0, 0), (-1, -1), 3),
            ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ]
    )
    story.append(_rows_table(data, widths, style))

    after: list = []
    if projections:
        after += [
            Spacer(1, 10),
            Paragraph("Tiến độ so với thời hạn", paragraph_style("h2", BOLD, 12, align=TA_LEFT)),
        ]
        for target, whole, late in projections:
            assert isinstance(whole, Projection)
            if whole.remaining == 0:
                outlook = "đã hoàn thành"
            elif whole.projected_on is not None:
                outlook = f"dự kiến hoàn thành ngày {whole.projected_on:%d/%m/%Y}"
            elif whole.pace_per_day is None:
                outlook = "chưa đủ số liệu để dự báo"
            else:
                outlook = "không thể hoàn thành với tốc độ hiện tại"
            text = (
                f"– {target.title} ({METRIC_TEXT.get(target.metric.value, '')}), hạn "
                f"{target.due_on:%d/%m/%Y}: đạt {_pct(whole.share)}, còn "
                f"{_n(whole.days_left)} ngày, {outlook}."
            )
            if late:
                text += " Địa bàn sẽ trễ hạn: " + ", ".join(a.name for a, _p in late) + "."
            after.append(Paragraph(escape(text), body))

    signature = Table(
        [
            [
                "",
                [
                    Paragraph("NGƯỜI LẬP BÁO CÁO", small_bold),
                    Paragraph("(Ký, ghi rõ họ tên)", paragraph_style("hint", ITALIC, 10)),
                    Spacer(1, 18 * mm),
                    Paragraph(escape(user.display_name), small_bold),
                ],
            ]
        ],
        colWidths=[width * 0.55, width * 0.45],
    )
    signature._signature = True  # type: ignore[attr-defined]
    # The signature stays with the lines before it: the deadlines (a few lines, with their
    # heading), or else the table's last rows (build_report).
    return story, [KeepTogether([*after, Spacer(1, 12), signature])]
