"""The citizen's side, without login: file a complaint, follow it with its tracking code.

Staff pages are in ``queue_routes`` on the same blueprint.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, AreaKind, Site
from portal.core.rendering import render
from portal.extensions import db
from portal.feedback import services
from portal.feedback.forms import FeedbackForm, StatusForm
from portal.text import collation_key

bp = Blueprint("feedback", __name__, url_prefix="/feedback")



@bp.context_processor
def _helpers():
    from portal.feedback import clock, display

    return {"feedback_status_label": display.feedback_status_label,
            "feedback_unit_name": display.feedback_unit_name,
            "kind_label": display.kind_label, "precision_label": display.precision_label,
            "unit_kind_label": display.unit_kind_label, "clock_label": display.clock_label,
            "fallback_label": display.fallback_label, "clock": clock}


SEEN_KEY = "feedback_seen"  # tracking codes this browser has proven it may read
MAX_SEEN = 20


def _rate_limited(prefix: str, limit_key: str) -> bool:
    """Count this request for the client; True when it is over the limit. Committed on its
    own, so refused and failed requests count as well."""
    window = timedelta(minutes=current_app.config["FEEDBACK_RATE_WINDOW_MINUTES"])
    allowed = services.hit(f"{prefix}:{request.remote_addr or '-'}",
                           current_app.config[limit_key], window)
    db.session.commit()
    return not allowed


def _by_name(rows) -> list:
    """(code, name) rows in the Vietnamese alphabet's order of their names."""
    return sorted(rows, key=lambda row: collation_key(row[1]))


def place_choices(province: str | None, commune: str | None) -> dict[str, list]:
    """The pick-lists, each narrowed by the place chosen before it."""
    empty = [SelectChoice("", _("— not known —"))]
    provinces = _by_name(db.session.execute(sa.select(Area.code, Area.name).where(
        Area.kind == AreaKind.PROVINCE)))
    choices: dict[str, list] = {"province": empty + [SelectChoice(*r) for r in provinces],
                                "district": list(empty), "commune": list(empty),
                                "site": list(empty)}
    province_id = db.session.scalar(sa.select(Area.id).where(
        Area.code == (province or ""), Area.kind == AreaKind.PROVINCE))
    if province_id is None:
        return choices
    for kind in (AreaKind.DISTRICT, AreaKind.COMMUNE):
        rows = _by_name(db.session.execute(sa.select(Area.code, Area.name).where(
            Area.province_id == province_id, Area.kind == kind)))
        choices[kind.value] += [SelectChoice(*r) for r in rows]
    site_query = sa.select(Site.code, Site.name).join(Area, Site.commune_id == Area.id).where(
        Site.active, Area.province_id == province_id).order_by(Site.name)
    if commune:
        site_query = site_query.where(Area.code == commune)
    choices["site"] += [SelectChoice(*r) for r in _by_name(db.session.execute(
        site_query.limit(500)))]
    return choices


def _fill_choices(form: FeedbackForm) -> None:
    choices = place_choices(form.province.data, form.commune.data)
    for name, values in choices.items():
        getattr(form, name).choices = values


@bp.get("/new")
def new_feedback():
    form = FeedbackForm()
    _fill_choices(form)
    return render("feedback/new.html", {"places": "places"}, form=form)


@bp.get("/places")
def show_places():
    """The place pick-lists for the province and commune chosen so far (htmx)."""
    form = FeedbackForm(formdata=request.args, meta={"csrf": False})
    _fill_choices(form)
    return render("feedback/new.html", {"places": "places"}, form=form)


@bp.post("/new")
def post_feedback():
    form = FeedbackForm()
    prepared = None
    if form.validate_on_submit():
        try:
            prepared = services.prepare(form.submission())
        except services.SubmissionError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [message]
    # Checking and routing only read; the writes begin with the rate counter. On SQLite
    # they need a transaction of their own, so that its first statement, a write, takes
    # the write lock at once and holds it briefly (a transaction that read first could not
    # take it once another worker had committed, and would hold it while checking). On
    # PostgreSQL the reads and the writes share one transaction: a commit and a pool
    # checkout fewer.
    if db.engine.dialect.name == "sqlite":
        db.session.commit()
    window = timedelta(minutes=current_app.config["FEEDBACK_RATE_WINDOW_MINUTES"])
    if not services.hit(f"feedback:{request.remote_addr or '-'}",
                        current_app.config["FEEDBACK_RATE_LIMIT"], window):
        db.session.commit()
        _fill_choices(form)
        return render("feedback/new.html", status=429, form=form, rate_limited=True)
    if prepared is None:
        db.session.commit()  # the counter: refused submissions count too
        _fill_choices(form)  # only to show the form again: validation needs no choices
        return render("feedback/new.html", status=422, form=form)
    feedback, created = services.file(prepared)
    code = feedback.code  # read now: after the commit it would be read again
    db.session.commit()
    _remember(code)
    session["feedback_new"] = [code, created]
    return redirect(url_for("feedback.show_received"), 303)


def _remember(code: str) -> None:
    seen = [c for c in session.get(SEEN_KEY, []) if c != code]
    session[SEEN_KEY] = (seen + [code])[-MAX_SEEN:]


@bp.get("/received")
def show_received():
    code, created = session.get("feedback_new") or (None, None)
    if code is None:
        return redirect(url_for("feedback.new_feedback"), 303)
    return render("feedback/received.html", code=code, created=created)


@bp.get("/<code>")
def show_status(code: str):
    code = code.strip().upper()[:16]
    feedback = services.by_code(code) if code in session.get(SEEN_KEY, []) else None
    if feedback is None:
        return render("feedback/status.html", form=StatusForm(), code=code, feedback=None)
    return render("feedback/status.html", form=None, code=code, feedback=feedback)


@bp.post("/<code>")
def post_status(code: str):
    code = code.strip().upper()[:16]
    form = StatusForm()
    if _rate_limited("status", "FEEDBACK_STATUS_RATE_LIMIT"):
        return render("feedback/status.html", status=429, form=form, code=code,
                      feedback=None, rate_limited=True)
    if not form.validate_on_submit():
        return render("feedback/status.html", status=422, form=form, code=code, feedback=None)
    feedback = services.by_code(code)
    if not services.verify_citizen(feedback, form.phone.data, form.birth_date.data):
        # One message whether the code exists or not: nothing is revealed.
        return render("feedback/status.html", status=422, form=form, code=code, feedback=None,
                      mismatch=True)
    _remember(code)
    return redirect(url_for("feedback.show_status", code=code), 303)


def abort_unless(condition: bool, status: int = 403) -> None:
    if not condition:
        abort(status)
