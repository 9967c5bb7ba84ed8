"""The citizen's side, without login: file a complaint, follow it with its tracking code.

Staff pages are in ``queue_routes``; the URLs of both are listed in ``blueprint.py``.
"""

from __future__ import annotations

import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, redirect, request, session, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from portal.areas.models import Area, AreaKind, Site
from portal.areas.scope import areas_within
from portal.core.clock import utcnow
from portal.core.rendering import render
from portal.core.text import collation_key
from portal.core.throttle import whole_minutes
from portal.extensions import db
from portal.feedback import clock, display, services
from portal.feedback.forms import FeedbackForm, StatusForm
from portal.feedback.labels import precision_label, unit_kind_label


def template_helpers():
    return {
        "feedback_status_label": display.feedback_status_label,
        "feedback_unit_name": display.feedback_unit_name,
        "kind_label": display.kind_label,
        "precision_label": precision_label,
        "unit_kind_label": unit_kind_label,
        "clock_label": display.clock_label,
        "fallback_label": display.fallback_label,
        "clock": clock,
        "citizen_unit_name": display.citizen_unit_name,
        "citizen_status": display.citizen_status,
    }


SEEN_KEY = "feedback_seen"  # tracking codes this browser has proven it may read
MAX_SEEN = 20


def _window(key: str = "FEEDBACK_RATE_WINDOW_MINUTES") -> timedelta:
    return timedelta(minutes=current_app.config[key])


def _client() -> str:
    return request.remote_addr or "-"


def _by_name(rows) -> list:
    """(code, name) rows in the Vietnamese alphabet's order of their names."""
    return sorted(rows, key=lambda row: collation_key(row[1]))


def place_choices(province: str | None, commune: str | None) -> dict[str, list]:
    """The pick-lists, each narrowed by the place chosen before it."""
    empty = [SelectChoice("", _("— not known —"))]
    provinces = _by_name(
        db.session.execute(sa.select(Area.code, Area.name).where(Area.kind == AreaKind.PROVINCE))
    )
    choices: dict[str, list] = {
        "province": empty + [SelectChoice(*r) for r in provinces],
        "district": list(empty),
        "commune": list(empty),
        "site": list(empty),
    }
    chosen = db.session.scalar(
        sa.select(Area).where(Area.code == (province or ""), Area.kind == AreaKind.PROVINCE)
    )
    if chosen is None:
        return choices
    for kind in (AreaKind.DISTRICT, AreaKind.COMMUNE):
        rows = _by_name(
            db.session.execute(
                sa.select(Area.code, Area.name).where(areas_within(chosen), Area.kind == kind)
            )
        )
        choices[kind.value] += [SelectChoice(*r) for r in rows]
    site_query = (
        sa.select(Site.code, Site.name)
        .join(Area, Site.commune_id == Area.id)
        .where(Site.active, areas_within(chosen))
        .order_by(Site.name)
    )
    if commune:
        site_query = site_query.where(Area.code == commune)
    choices["site"] += [
        SelectChoice(*r) for r in _by_name(db.session.execute(site_query.limit(500)))
    ]
    return choices


def _fill_choices(form: FeedbackForm) -> None:
    choices = place_choices(form.province.data, form.commune.data)
    for name, values in choices.items():
        getattr(form, name).choices = values


def new_feedback():
    form = FeedbackForm()
    _fill_choices(form)
    return render("feedback/new.html", {"places": "places"}, form=form)


def show_places():
    """The place pick-lists for the province and commune chosen so far (htmx)."""
    form = FeedbackForm(formdata=request.args, meta={"csrf": False})
    _fill_choices(form)
    return render("feedback/new.html", {"places": "places"}, form=form)


def post_feedback():
    form = FeedbackForm()
    prepared = None
    if form.validate_on_submit():
        try:
            prepared = services.prepare(form.submission())
        except services.SubmissionError as error:
            for name, message in error.errors.items():
                getattr(form, name).errors = [message]
    # Checking and routing only read; the writes come after. On SQLite they need a
    # transaction of their own, so that its first statement, a write, takes the write lock
    # at once and holds it briefly (a transaction that read first could not take it once
    # another worker had committed, and would hold it while checking). On PostgreSQL the
    # reads and the writes share one transaction: a commit and a pool checkout fewer.
    if db.engine.dialect.name == "sqlite":
        db.session.commit()
    config = current_app.config
    if prepared is None:
        # Refused submissions have their own, more generous counter: a citizen who mistypes
        # a date is not locked out of filing, nor are the others on the same address.
        allowed = services.hit(
            f"feedback-refused:{_client()}",
            config["FEEDBACK_FAILURE_LIMIT"],
            _window("FEEDBACK_FAILURE_WINDOW_MINUTES"),
        )
        db.session.commit()
        _fill_choices(form)  # only to show the form again: validation needs no choices
        if not allowed:
            return render(
                "feedback/new.html",
                status=429,
                form=form,
                too_many_failures=True,
                minutes=config["FEEDBACK_FAILURE_WINDOW_MINUTES"],
            )
        return render("feedback/new.html", status=422, form=form)
    # Only accepted complaints count towards the address's limit: filed, then counted, in
    # one transaction; over the limit, both are rolled back. The counter's row is locked
    # by the upsert, so concurrent workers count one after the other.
    feedback, created = services.file(prepared)
    code = feedback.code  # read now: after the commit it would be read again
    if created and not services.hit(
        f"feedback:{_client()}", config["FEEDBACK_RATE_LIMIT"], _window()
    ):
        db.session.rollback()
        _fill_choices(form)
        return render("feedback/new.html", status=429, form=form, rate_limited=True)
    db.session.commit()
    _remember(code)
    session["feedback_new"] = [code, created]
    return redirect(url_for("feedback.show_received"), 303)


def _remember(code: str) -> None:
    """This browser proved it may read the complaint (it filed it, or gave the phone or
    the birth date): remembered with the time, for FEEDBACK_STATUS_REVEAL_MINUTES."""
    seen = _seen()
    seen.pop(code, None)
    seen[code] = int(time.time())
    session[SEEN_KEY] = dict(list(seen.items())[-MAX_SEEN:])


def _seen() -> dict[str, int]:
    seen = session.get(SEEN_KEY)
    return dict(seen) if isinstance(seen, dict) else {}


def _may_read(code: str) -> bool:
    """Within minutes of proving it: a phone shared in the family, or lent to a neighbour,
    does not keep showing someone's complaint for the rest of the browser's session."""
    proved = _seen().get(code)
    reveal = timedelta(minutes=current_app.config["FEEDBACK_STATUS_REVEAL_MINUTES"])
    return proved is not None and time.time() - proved < reveal.total_seconds()


def show_received():
    code, created = session.get("feedback_new") or (None, None)
    if code is None:
        return redirect(url_for("feedback.new_feedback"), 303)
    return render(
        "feedback/received.html", code=code, created=created, feedback=services.by_code(code)
    )


def show_status(code: str):
    code = code.strip().upper()[:16]
    feedback = services.by_code(code) if _may_read(code) else None
    if feedback is None:
        return render("feedback/status.html", form=StatusForm(), code=code, feedback=None)
    return render("feedback/status.html", form=None, code=code, feedback=feedback, now=utcnow())


def post_status(code: str):
    code = code.strip().upper()[:16]
    form = StatusForm()
    # Failed look-ups are limited per address: each attempt is counted first, so that
    # concurrent guesses are counted one after the other; a successful one is then rolled
    # back: the citizens who share an address and read their own status are not counted
    # against each other. Wrong answers are also counted per tracking code, from every
    # address (issue 14, item 10): past a few, one detail must wait, growing each time,
    # while the phone number and the date of birth together, which an attacker guessing a
    # birth date lacks, are never kept waiting.
    if db.engine.dialect.name == "sqlite":
        db.session.commit()
    config = current_app.config
    if not services.hit(f"status:{_client()}", config["FEEDBACK_STATUS_RATE_LIMIT"], _window()):
        db.session.commit()
        return render(
            "feedback/status.html",
            status=429,
            form=form,
            code=code,
            feedback=None,
            rate_limited=True,
        )
    if not form.validate_on_submit():
        db.session.commit()
        return render("feedback/status.html", status=422, form=form, code=code, feedback=None)
    phone, birth = form.phone.data, form.birth()
    wait = services.status_code_wait(code)
    if wait > timedelta(0) and not (phone and birth is not None):
        db.session.commit()
        return render(
            "feedback/status.html",
            status=429,
            form=form,
            code=code,
            feedback=None,
            both_needed=True,
            minutes=whole_minutes(wait),
        )
    feedback = services.by_code(code)
    if not services.verify_citizen(feedback, phone, birth):
        services.count_wrong_answer(code)
        db.session.commit()
        # One message whether the code exists or not: nothing is revealed.
        return render(
            "feedback/status.html", status=422, form=form, code=code, feedback=None, mismatch=True
        )
    db.session.rollback()  # a successful look-up is not counted
    _remember(code)
    return redirect(url_for("feedback.show_status", code=code), 303)
