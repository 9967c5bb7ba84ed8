"""Charts drawn on the server as SVG: no script, printable, each beside a table."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

# One colour per status, readable on white and distinct in grey print.
COLOURS = {
    "unverified": "#adb5bd", "missing_id": "#dc3545", "invalid_id": "#fd7e14",
    "mismatch": "#ffc107", "not_found": "#6f42c1", "matched": "#20c997",
    "verified": "#0dcaf0", "confirmed": "#198754", "needs_reconfirmation": "#d63384",
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
        f"<title>{escape(s.label)}: {s.n}</title></rect>"
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
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
            'stroke="#6c757d"/>'
            f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#6c757d"/>'
            f'<text x="2" y="{pad + 4}" font-size="11">100%</text>'
            f'<text x="8" y="{height - pad + 4}" font-size="11">0%</text>'
            f'<text x="{pad}" y="{height - 8}" font-size="11">{first:%d/%m}</text>'
            f'<text x="{width - pad - 30}" y="{height - 8}" font-size="11">{last:%d/%m}</text>')
    return Markup(
        f'<svg class="chart-line" viewBox="0 0 {width} {height}" width="100%" role="img" '
        'aria-hidden="true" focusable="false">' + axis
        + f'<polyline fill="none" stroke="#0d6efd" stroke-width="2" points="{coords}"/></svg>'
    )
