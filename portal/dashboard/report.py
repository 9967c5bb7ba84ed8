"""The dated progress report sent upwards, as an official document (Decree 30/2020 layout).

Always in Vietnamese, like the other documents: it is paper for the administration. The
fonts, the date line and the page numbering are the handover list's (portal.worklists.pdf).
"""

from __future__ import annotations

from datetime import date
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from portal.areas.models import Area
from portal.auth.models import Role, User
from portal.dashboard.queries import CLEANED, Figures, Projection
from portal.signing.documents import Heading, document_styles, heading_flowables
from portal.worklists.pdf import (
    BOLD,
    ITALIC,
    LEFT_MARGIN,
    RIGHT_MARGIN,
    _full_name,
    _numbered_canvas,
    _style,
    place_name,
    register_fonts,
)

UNIT_BY_ROLE = {
    Role.POLICE: "CÔNG AN",
    Role.HEALTH_STATION: "TRẠM Y TẾ",
    Role.COMMITTEE: "ỦY BAN NHÂN DÂN",
    Role.VACCINATION_SITE: "ĐIỂM TIÊM CHỦNG",
    Role.HEALTH_AUTHORITY: "SỞ Y TẾ",
    Role.ADMIN: "SỞ Y TẾ",
}
METRIC_TEXT = {"cleaned": "Làm sạch toàn bộ dữ liệu", "confirmed": "Xác nhận toàn bộ dữ liệu",
               "answered": "Trả lời toàn bộ phản ánh"}


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}".replace(".", ",") + "%"


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def build_report(user: User, area: Area, figures: Figures, rows: list[Figures],
                 projections: list[tuple], day: date) -> bytes:
    register_fonts()
    unit_area = user.area
    unit = f"{UNIT_BY_ROLE.get(user.role, '')} {_full_name(unit_area).upper()}".strip()
    superior = ""
    if unit_area.province is not None and unit_area.province_id != unit_area.id:
        superior = f"UBND {_full_name(unit_area.province).upper()}"
    small_bold = _style("small_bold", BOLD, 11)
    title = _style("title", BOLD, 14, spaceBefore=6, spaceAfter=2)
    body = _style("body", size=12, align=TA_LEFT)
    cell = _style("cell", size=9, align=TA_LEFT, leading=11)
    cell_r = _style("cell_r", size=9, leading=11, align=TA_RIGHT)
    head = _style("head", BOLD, 9, leading=11)

    page = landscape(A4)
    width = page[0] - LEFT_MARGIN - RIGHT_MARGIN
    heading = Heading(superior, unit, "Số: ....../BC", place_name(unit_area), day)
    story = [*heading_flowables(heading, document_styles(), width),
             Paragraph("BÁO CÁO", title),
             Paragraph(escape(f"Tiến độ làm sạch và xác nhận dữ liệu tiêm chủng COVID-19 – "
                              f"{area.name}, số liệu đến ngày {day:%d/%m/%Y}"),
                       _style("subtitle", BOLD, 12)),
             Spacer(1, 10),
             Paragraph(escape(
                 f"Tổng số đối tượng: {_n(figures.total)}; đã làm sạch: "
                 f"{_n(figures.count(CLEANED))} ({_pct(figures.cleaned)}); "
                 f"đã xác nhận: {_pct(figures.confirmed)}; "
                 f"còn phải sửa: {_n(figures.uncorrected)}."), body),
             Spacer(1, 8)]

    header = ["STT", "Địa bàn", "Số đối tượng", "Chưa đối soát", "Thiếu số định danh",
              "Sai định dạng", "Sai lệch", "Không tìm thấy", "Khớp", "Đã xác minh",
              "Đã xác nhận", "Cần xác nhận lại", "Miễn", "Làm sạch", "Xác nhận"]
    statuses = ["unverified", "missing_id", "invalid_id", "mismatch", "not_found", "matched",
                "verified", "confirmed", "needs_reconfirmation", "exempt"]
    data = [[Paragraph(h, head) for h in header]]
    for index, f in enumerate(rows or [figures], start=1):
        name = f.area.name if f.area is not None else area.name
        data.append([Paragraph(str(index), cell_r), Paragraph(escape(name), cell),
                     Paragraph(_n(f.total), cell_r)]
                    + [Paragraph(_n(f.by_status.get(s, 0)), cell_r) for s in statuses]
                    + [Paragraph(_pct(f.cleaned), cell_r), Paragraph(_pct(f.confirmed), cell_r)])
    if rows:
        data.append([Paragraph("", cell), Paragraph("Tổng cộng", head),
                     Paragraph(_n(figures.total), cell_r)]
                    + [Paragraph(_n(figures.by_status.get(s, 0)), cell_r) for s in statuses]
                    + [Paragraph(_pct(figures.cleaned), cell_r),
                       Paragraph(_pct(figures.confirmed), cell_r)])
    first = 10 * mm
    name_w = 48 * mm
    # The columns of counts share what is left; the first two (persons, unchecked) hold the
    # largest numbers and get a little more.
    rest = (width - first - name_w) / (len(header) - 2 + 0.6)
    widths = [first, name_w, rest * 1.3, rest * 1.3] + [rest] * (len(header) - 4)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
    ]))
    story.append(table)

    if projections:
        story += [Spacer(1, 10), Paragraph("Tiến độ so với thời hạn", _style("h2", BOLD, 12,
                                                                              align=TA_LEFT))]
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
            text = (f"– {target.title} ({METRIC_TEXT.get(target.metric.value, '')}), hạn "
                    f"{target.due_on:%d/%m/%Y}: đạt {_pct(whole.share)}, còn "
                    f"{whole.days_left} ngày, {outlook}.")
            if late:
                text += " Địa bàn sẽ trễ hạn: " + ", ".join(a.name for a, _p in late) + "."
            story.append(Paragraph(escape(text), body))

    signature = Table([["", [Paragraph("NGƯỜI LẬP BÁO CÁO", small_bold),
                             Paragraph("(Ký, ghi rõ họ tên)", _style("hint", ITALIC, 10)),
                             Spacer(1, 18 * mm),
                             Paragraph(escape(user.display_name), small_bold)]]],
                      colWidths=[width * 0.55, width * 0.45])
    story += [Spacer(1, 12), KeepTogether([signature])]

    output = BytesIO()
    document = SimpleDocTemplate(
        output, pagesize=page, leftMargin=LEFT_MARGIN, rightMargin=RIGHT_MARGIN,
        topMargin=20 * mm, bottomMargin=20 * mm, title=f"Báo cáo tiến độ – {area.name}",
        author=user.display_name, subject="Báo cáo tiến độ làm sạch dữ liệu tiêm chủng")
    document.build(story, canvasmaker=_numbered_canvas(False))
    return output.getvalue()
