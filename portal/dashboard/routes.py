from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, AreaKind
from portal.areas.scope import areas_holding, areas_within
from portal.audit import services as audit
from portal.core import export
from portal.core.clock import today_in_vietnam, utcnow
from portal.core.database import writes
from portal.core.rendering import is_fragment_request, render
from portal.core.text import collation_key, fold
from portal.dashboard import charts, permissions, queries, services
from portal.dashboard.forms import TargetForm
from portal.dashboard.labels import METRIC_LABELS, SHARE_LABELS
from portal.dashboard.models import Target, TargetMetric
from portal.dashboard.report import build_report
from portal.extensions import db
from portal.feedback.permissions import can_use_queue
from portal.records.labels import STATUS_LABELS
from portal.records.models import PersonStatus
from portal.records.permissions import sites_in_scope

# "figures-refresh" is the page's timer: the figures block comes back with each figure
# marked to swap out of band (by its id), nothing else.
FRAGMENTS = {"figures": "figures", "figures-refresh": "figures", "accountability": "accountability"}
PAGE_SIZE = 50


def _status_count(status: str, figures: queries.Figures) -> int:
    return figures.by_status.get(status, 0)


# Each sort key gives a row's value, or None when the row has none (a share of no records):
# those rows come last whichever way the user sorts.
SORTS: dict[str, Callable[[queries.Figures], Any]] = {
    "name": lambda f: collation_key(f.name),
    "total": lambda f: f.total,
    "uncorrected": lambda f: f.uncorrected,
    # A share's key differs from every status's: "confirmed" is both a status (a count)
    # and a share, and sorting by the one must not sort by the other.
    **{s.value: partial(_status_count, s.value) for s in PersonStatus},
    **{f"share_{key}": partial(lambda key, f: f.share_of(key), key) for key in queries.SHARES},
    "cleaned": lambda f: f.cleaned,  # the default sort's old name, kept for saved links
}
# Worst first: the least cleaned areas on top, areas without records last.
DEFAULT_SORT = ("share_cleaned", "asc")


def _sorted(rows: list, sort: str, direction: str) -> list:
    """Rows sorted by ``sort`` (by name among equals); rows without a value last."""
    key = SORTS[sort]
    rows = sorted(rows, key=SORTS["name"])
    valued = [f for f in rows if key(f) is not None]
    valued.sort(key=key, reverse=direction == "desc")
    return valued + [f for f in rows if key(f) is None]


def _area_or_404() -> Area:
    area = permissions.area_in_scope(current_user, request.args.get("area"))
    if area is None:
        abort(404)
    return area


def _table(area: Area):
    """The drill-down rows, filtered by name, sorted and paged as the query asks."""
    rows = queries.child_figures(area)
    q = (request.args.get("q") or "").strip()
    if q:
        needle = fold(q)
        rows = [f for f in rows if f.area and needle in fold(f.area.name)]
    sort = request.args.get("sort") or DEFAULT_SORT[0]
    if sort not in SORTS:
        sort = DEFAULT_SORT[0]
    worst_first = sort in ("cleaned", DEFAULT_SORT[0])
    direction = request.args.get("dir") or (DEFAULT_SORT[1] if worst_first else "desc")
    if direction not in ("asc", "desc"):
        direction = "desc"
    return _sorted(rows, sort, direction), sort, direction, q


def _site_rows(commune: Area) -> list[queries.SiteFigures]:
    """A commune's vaccination sites, worst first: on screen and in its exports."""
    return _sorted(queries.site_rows(commune), *DEFAULT_SORT)


def _page_of(rows: list, page_arg: str | None) -> tuple[list, int, int]:
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    try:
        page = min(max(int(page_arg or 1), 1), pages)
    except ValueError:
        page = 1
    return rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE], page, pages


def _targets_for(area: Area) -> list[Target]:
    """Deadlines set for this area or for an area it lies in (its province)."""
    return list(
        db.session.scalars(
            sa.select(Target).where(Target.area_id.in_(areas_holding(area))).order_by(Target.due_on)
        )
    )


@login_required
def show_dashboard():
    area = _area_or_404()
    today = today_in_vietnam()
    figures = queries.area_figures(area)
    rows, sort, direction, q = _table(area)
    page_rows, page, pages = _page_of(rows, request.args.get("page"))
    target_htmx = request.headers.get("HX-Target") if is_fragment_request() else None
    show_accountability = target_htmx == "accountability" or bool(request.args.get("sites"))
    projections = (
        [(t, *queries.project_target(area, t.metric, t.due_on, today)) for t in _targets_for(area)]
        if target_htmx != "accountability"
        else []
    )
    burndowns = {
        target.id: _burndown(area, target, whole, figures, today)
        for target, whole, _late in projections
    }
    series = queries.daily_series(area, queries.CLEANED, 30, today)
    complaints = queries.complaint_figures(area, utcnow())
    return render(
        "dashboard/index.html",
        FRAGMENTS,
        area=area,
        figures=figures,
        rows=page_rows,
        row_count=len(rows),
        page=page,
        pages=pages,
        sort=sort,
        direction=direction,
        q=q,
        doses=queries.doses_by_vaccine(area),
        sites=(_site_rows(area) if show_accountability and area.kind == AreaKind.COMMUNE else []),
        accountability=queries.accountability(area) if show_accountability else None,
        # The sites whose records the user's list can open (a site elsewhere may have
        # vaccinated people of the area: its count stays plain).
        listable_sites={s.code for s in sites_in_scope(current_user)}
        if show_accountability
        else set(),
        done_groups=queries.DONE_GROUP_BY_METRIC,
        projections=projections,
        burndowns=burndowns,
        status_labels=STATUS_LABELS,
        statuses=list(PersonStatus),
        metric_labels=METRIC_LABELS,
        status_chart=charts.status_bar(figures, STATUS_LABELS),
        progress_chart=charts.progress_line(series),
        complaints=complaints,
        complaints_chart=charts.in_time_bars(complaints.weeks),
        queue_url=url_for("feedback.show_queue") if can_use_queue(current_user) else None,
        series=series,
        today=today,
        updated_at=utcnow(),
        refresh_seconds=current_app.config["DASHBOARD_REFRESH_SECONDS"],
        oob=Markup(' hx-swap-oob="true"') if target_htmx == "figures-refresh" else "",
        records_url=url_for("records.list_records"),
        columns=[("name", _("Commune / ward")), ("total", _("Persons"))]
        + [(s.value, STATUS_LABELS[s]) for s in PersonStatus]
        + [(f"share_{key}", SHARE_LABELS[key]) for key in queries.SHARES],
        share_labels=SHARE_LABELS,
        can_set_targets=permissions.can_set_targets(current_user),
    )


def _burndown(
    area: Area, target: Target, whole: queries.Projection, figures: queries.Figures, today
) -> tuple:
    """The chart and its rows: what is left each day (records from the snapshots,
    complaints from their own times), today's live figure last."""
    if target.metric == TargetMetric.ANSWERED:
        points = queries.open_complaints_by_day(area, today)
        points.append((today, whole.remaining))
        return charts.burndown(points, target.due_on, whole.projected_on), points
    statuses = queries.DONE_BY_METRIC[target.metric]
    points = [
        (day, total - done)
        for day, done, total in queries.daily_series(area, statuses, 30, today)
        if day < today
    ]
    points.append((today, figures.total - figures.count(statuses)))
    return charts.burndown(points, target.due_on, whole.projected_on), points


def _export_columns(sites: bool) -> list[export.Column]:
    """The columns of the table on screen: a province's (or district's) communes, or a
    commune's vaccination sites (with their doses); the total row last."""

    def share(key: str) -> export.Column:
        return export.Column(
            _("%(label)s (%%)", label=SHARE_LABELS[key]), lambda f: _percent(f.share_of(key)), 14
        )

    return [
        export.Column(_("Code"), lambda f: f.code, 10),
        export.Column(
            _("Vaccination site") if sites else _("Commune / ward"),
            lambda f: f.name or _("Total"),
            30,
        ),
        *([export.Column(_("Doses"), lambda f: getattr(f, "doses", None), 10)] if sites else []),
        export.Column(_("Persons"), lambda f: f.total, 12),
        *(
            export.Column(STATUS_LABELS[s], partial(_status_count, s.value), 14)
            for s in PersonStatus
        ),
        *(share(key) for key in queries.SHARES),
    ]


def _percent(share: float | None) -> float | None:
    """A share as the percentage shown on screen (one decimal), as a number."""
    return round(share * 100, 1) if share is not None else None


def _export_rows(area: Area) -> tuple[list[queries.Figures], bool]:
    """The rows of the screen's table (for a commune, its sites), as sorted there."""
    if area.kind == AreaKind.COMMUNE:
        return list(_site_rows(area)), True
    rows, _sort, _direction, _q = _table(area)
    return rows, False


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def export_dashboard(fmt: str):
    area = _area_or_404()
    rows, sites = _export_rows(area)
    total = queries.Figures(None, queries.area_figures(area).by_status)
    # Read before the export's own event commits: a commit expires the rows' areas and
    # sites, which the streamed CSV could then no longer load (issue 13, item 15).
    columns, cells = export.read_now(_export_columns(sites), [*rows, total])
    audit.record(
        "dashboard.export", "area", area.code, {"rows": [None, len(rows)], "format": [None, fmt]}
    )
    db.session.commit()
    return export.response(fmt, columns, [cells], f"bang-tong-hop-{area.code}", _("Dashboard"))


@login_required
@writes  # its audit event (SQLite: BEGIN IMMEDIATE)
def report_pdf():
    area = _area_or_404()
    today = today_in_vietnam()
    rows, sites = _export_rows(area)
    projections = [
        (t, *queries.project_target(area, t.metric, t.due_on, today)) for t in _targets_for(area)
    ]
    pdf = build_report(
        current_user, area, queries.area_figures(area), rows, projections, today, sites=sites
    )
    audit.record(
        "dashboard.report",
        "area",
        area.code,
        {"rows": [None, len(rows)], "sha256": [None, hashlib.sha256(pdf).hexdigest()]},
    )
    db.session.commit()
    return send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"bao-cao-tien-do-{area.code}-{today:%Y%m%d}.pdf",
    )


# Deadlines ----------------------------------------------------------------------------


def _target_form(formdata=None) -> TargetForm:
    form = TargetForm(formdata=formdata, today=today_in_vietnam())
    own = current_user.area
    areas = [own] + queries.children(own)
    form.area.choices = [SelectChoice(a.code, a.name) for a in areas]
    return form


def _targets_page(form: TargetForm, status: int = 200):
    """The deadlines of the user's area and of every area within it (a province's
    communes), and those set above it that it must meet (its province's); only the
    former are the user's to delete."""
    own = current_user.area
    above = [area_id for area_id in areas_holding(own) if area_id != own.id]
    targets = list(
        db.session.scalars(
            sa.select(Target)
            .join(Area, Target.area_id == Area.id)
            .where(sa.or_(areas_within(own), Area.id.in_(above)))
            .order_by(Target.due_on, Target.id)
        )
    )
    return render(
        "dashboard/targets.html",
        status=status,
        form=form,
        targets=targets,
        above=set(above),
        metric_labels=METRIC_LABELS,
        can_set_targets=permissions.can_set_targets(current_user),
    )


@login_required
def list_targets():
    return _targets_page(_target_form())


@login_required
def create_target():
    if not permissions.can_set_targets(current_user):
        abort(403)
    form = _target_form(request.form)
    if not form.validate():
        return _targets_page(form, 422)
    area = permissions.area_in_scope(current_user, form.area.data)
    if area is None:  # the choices already refuse it; kept as the rule's own check
        abort(404)
    services.create_target(
        area,
        TargetMetric(form.metric.data),
        form.due_on.data,
        form.title.data.strip(),
        actor=current_user,
    )
    db.session.commit()
    return redirect(url_for("dashboard.list_targets"), 303)


@login_required
def delete_target(target_id: int):
    target = db.get_or_404(Target, target_id)
    if permissions.area_in_scope(current_user, target.area.code) is None:
        abort(404)
    if not permissions.can_set_targets(current_user):
        abort(403)
    services.delete_target(target, actor=current_user)
    db.session.commit()
    return redirect(url_for("dashboard.list_targets"), 303)
