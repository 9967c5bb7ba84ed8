"""Charts drawn on the server as SVG: no script, printable, each beside a table."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal.core.web import format_number

# One colour per status, readable on white and distinct in grey print.
COLOURS = {
    "unverified": "#adb5bd",
    "missing_id": "#dc3545",
    "invalid_id": "#fd7e14",
    "mismatch": "#ffc107",
    "not_found": "#6f42c1",
    "matched": "#20c997",
    "verified": "#0dcaf0",
    "confirmed": "#198754",
    "needs_reconfirmation": "#d63384",
    "exempt": "#6c757d",
}


@dataclass(frozen=True)
class Segment:
    status: str
    label: str
    n: int
    x: float
    width: float
    colour: str


def status_segments(figures, labels) -> list[Segment]:
    total = figures.total
    segments, x = [], 0.0
    for status, label in labels.items():
        n = figures.by_status.get(status.value, 0)
        if not n or not total:
            continue
        width = 100.0 * n / total
        segments.append(Segment(status.value, str(label), n, x, width, COLOURS[status.value]))
        x += width
    return segments


def status_bar(figures, labels) -> Markup:
    """A 100 % stacked bar of the persons by status."""
    parts = [
        f'<rect x="{s.x:.3f}%" y="0" width="{s.width:.3f}%" height="28" fill="{s.colour}">'
        f"<title>{escape(s.label)}: {format_number(s.n)}</title></rect>"
        for s in status_segments(figures, labels)
    ]
    return Markup(
        '<svg class="chart-bar" width="100%" height="28" role="img" aria-hidden="true" '
        'focusable="false">' + "".join(parts) + "</svg>"
    )


def progress_line(series, width: int = 600, height: int = 160) -> Markup | None:
    """The share of cleaned records day by day (from the daily snapshots)."""
    points = [(day, done / total) for day, done, total in series if total]
    if len(points) < 2:
        return None
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)
    pad = 30
    coords = " ".join(
        f"{pad + (width - 2 * pad) * (day - first).days / span:.1f},"
        f"{height - pad - (height - 2 * pad) * share:.1f}"
        for day, share in points
    )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#6c757d"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#6c757d"/>'
        f'<text x="2" y="{pad + 4}" font-size="11">100%</text>'
        f'<text x="8" y="{height - pad + 4}" font-size="11">0%</text>'
        f'<text x="{pad}" y="{height - 8}" font-size="11">{first:%d/%m}</text>'
        f'<text x="{width - pad - 30}" y="{height - 8}" font-size="11">{last:%d/%m}</text>'
    )
    return Markup(
        f'<svg class="chart-line" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-hidden="true" focusable="false">'
        + axis
        + f'<polyline fill="none" stroke="#0d6efd" stroke-width="2" points="{coords}"/></svg>'
    )


def burndown(
    points: list[tuple], due_on, projected_on, width: int = 600, height: int = 150
) -> Markup | None:
    """Records left to do, day by day, towards the due date; dashed: the pace projected."""
    if len(points) < 2:
        return None
    first = points[0][0]
    last_day = max(due_on, projected_on or due_on, points[-1][0])
    span = max((last_day - first).days, 1)
    top = max(left for _day, left in points) or 1
    pad = 30

    def x(day) -> float:
        return pad + (width - 2 * pad) * (day - first).days / span

    def y(left) -> float:
        return height - pad - (height - 2 * pad) * left / top

    line = " ".join(f"{x(day):.1f},{y(left):.1f}" for day, left in points)
    end_day, end_left = points[-1]
    projection = ""
    if projected_on is not None and end_left:
        projection = (
            f'<line x1="{x(end_day):.1f}" y1="{y(end_left):.1f}" '
            f'x2="{x(projected_on):.1f}" y2="{y(0):.1f}" stroke="#0d6efd" '
            'stroke-dasharray="4 3"/>'
        )
    due = (
        f'<line x1="{x(due_on):.1f}" y1="{pad}" x2="{x(due_on):.1f}" y2="{height - pad}" '
        f'stroke="#dc3545"/><text x="{x(due_on) - 16:.1f}" y="{pad - 6}" font-size="11" '
        f'fill="#dc3545">{due_on:%d/%m}</text>'
    )
    axis = (
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
        'stroke="#6c757d"/>'
        f'<text x="{pad}" y="{height - 8}" font-size="11">{first:%d/%m}</text>'
        f'<text x="2" y="{pad + 4}" font-size="11">{format_number(top)}</text>'
    )
    return Markup(
        f'<svg class="chart-burndown" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-hidden="true" focusable="false">'
        + axis
        + due
        + f'<polyline fill="none" stroke="#0d6efd" stroke-width="2" points="{line}"/>'
        + projection
        + "</svg>"
    )


def in_time_bars(weeks: list[tuple], width: int = 600, height: int = 170) -> Markup | None:
    """Complaints answered each week: the whole bar, and in green the part within 48 h;
    axes titled, the scale marked, and what it shows said in words for a screen reader
    (the table beside it holds every figure)."""
    if not weeks:
        return None
    left, right, top_pad, bottom = 46, 10, 12, 40
    top = max(n for _monday, n, _ok in weeks) or 1
    slot = (width - left - right) / len(weeks)
    plot = height - top_pad - bottom
    base = height - bottom
    bars = []
    for index, (monday, n, ok) in enumerate(weeks):
        x = left + index * slot + slot * 0.15
        w = slot * 0.7
        full = plot * n / top
        good = plot * ok / top
        bars.append(
            f'<rect x="{x:.1f}" y="{base - full:.1f}" width="{w:.1f}" '
            f'height="{full:.1f}" fill="#f1aeb5">'
            f"<title>{monday:%d/%m}: {format_number(n)}</title></rect>"
            f'<rect x="{x:.1f}" y="{base - good:.1f}" width="{w:.1f}" '
            f'height="{good:.1f}" fill="#198754">'
            f"<title>{monday:%d/%m}: {format_number(ok)}/{format_number(n)}</title></rect>"
            f'<text x="{x + w / 2:.1f}" y="{base + 14}" font-size="10" '
            f'text-anchor="middle">{monday:%d/%m}</text>'
        )
    # Outside the f-string: babel's extractor does not look inside one (tests/test_i18n.py).
    y_title, x_title = escape(_("Complaints")), escape(_("Week beginning (Monday)"))
    axes = (
        f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#6c757d"/>'
        f'<line x1="{left}" y1="{top_pad}" x2="{left}" y2="{base}" stroke="#6c757d"/>'
        f'<text x="{left - 4}" y="{top_pad + 4}" font-size="10" text-anchor="end">'
        f"{format_number(top)}</text>"
        f'<text x="{left - 4}" y="{base + 4}" font-size="10" text-anchor="end">0</text>'
        f'<text x="12" y="{top_pad + plot / 2:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {top_pad + plot / 2:.1f})">{y_title}</text>'
        f'<text x="{left + (width - left - right) / 2:.1f}" y="{height - 4}" font-size="11" '
        f'text-anchor="middle">{x_title}</text>'
    )
    answered = sum(n for _monday, n, _ok in weeks)
    in_time = sum(ok for _monday, _n, ok in weeks)
    label = _(
        "Complaints answered each week, %(weeks)s weeks from %(first)s: "
        "%(answered)s answered, %(in_time)s of them within 48 hours; the table below "
        "gives each week.",
        weeks=len(weeks),
        first=f"{weeks[0][0]:%d/%m/%Y}",
        answered=format_number(answered),
        in_time=format_number(in_time),
    )
    return Markup(
        f'<svg class="chart-bars" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" focusable="false">' + axes + "".join(bars) + "</svg>"
    )
