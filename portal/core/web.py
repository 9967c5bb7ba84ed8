"""Request-wide behaviour: template helpers, error pages, headers, login settings."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

import sqlalchemy as sa
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.core import database, events, page_globals
from portal.core.accounts import Role
from portal.core.clock import format_birth, format_date, format_minute, format_time
from portal.core.labels import (
    action_label,
    change_value,
    entity_label,
    field_label,
    id_kind_label,
    import_state_label,
    job_label,
    result_label,
    role_label,
    sex_label,
    status_label,
    value_label,
)
from portal.core.navigation import navigation
from portal.core.rendering import is_fragment_request, render, vary_on_htmx
from portal.extensions import db, login_manager

ERROR_MESSAGES = {
    400: _l("The request could not be understood. Check what you entered and try again."),
    401: _l("Please log in to continue."),
    403: _l("You do not have permission to do this."),
    404: _l("The page or record was not found, or it is outside your area."),
    405: _l("This action is not allowed here."),
    409: _l("Someone else changed this meanwhile. Reload and try again."),
    413: _l("The upload is too large."),
    429: _l("Too many requests. Please wait a moment and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
    503: _l(
        "The system is busy right now. What you sent was not saved; please try again "
        "in a few seconds."
    ),
}


def time_heading(label: object) -> str:
    """The heading of a column of times (Vietnam's), which says their zone: on screens and
    in every export (portal.core.export adds it there by itself)."""
    return _("%(label)s (Vietnam time)", label=str(label))


def format_number(value: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        # Whole numbers, the common case (a dashboard table has hundreds): Python groups
        # the digits and the locale's separator replaces the comma — what babel would
        # print, twenty times faster.
        return f"{value:,}".replace(",", _group_symbol(str(get_locale())))
    return format_decimal(value)


@lru_cache(maxsize=16)
def _group_symbol(locale: str) -> str:
    return get_group_symbol(locale)


def format_tenths(value: float | None) -> str:
    """One decimal in the user's locale: 55.0 -> '55,0' in Vietnamese; None -> '—'."""
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", _decimal_symbol(str(get_locale())))


def format_percent(share: float | None) -> str:
    """0.5 -> '50,0%' in Vietnamese, '50.0%' in English; None -> '—'."""
    return "—" if share is None else format_tenths(share * 100) + "%"


@lru_cache(maxsize=16)
def _decimal_symbol(locale: str) -> str:
    return get_decimal_symbol(locale)


def reject_keys(mapping: dict, *keys: str) -> dict:
    return {k: v for k, v in mapping.items() if k not in keys}


def safe_next(target: str | None) -> str:
    """Where to go after a login or a change of language: the page asked for, when it is
    one of ours, else the person's landing page."""
    # Only local paths: an open redirect would make a phishing link look like ours.
    # Browsers read a backslash as "/" (/\evil.example is //evil.example), and a control
    # character cannot go into the Location header at all.
    if target and target.isprintable() and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return landing()


# Where a day starts when no page was asked for: those who watch an area (health
# authorities, administrators) on its dashboard, those who work on records on the records.
DASHBOARD_FIRST = frozenset({Role.HEALTH_AUTHORITY, Role.ADMIN})


def landing() -> str:
    """The page a person's day starts on, by role."""
    if current_user.is_authenticated and current_user.role in DASHBOARD_FIRST:
        return url_for("dashboard.show_dashboard")
    if current_user.is_authenticated and current_user.role == Role.NATIONAL_ADMIN:
        return url_for("registry.list_extracts")  # their work: the register as a whole
    return url_for("records.list_records")


def init_app(app: Flask) -> None:
    events.connect_reactions()
    login_manager.login_view = "auth.get_login"
    login_manager.login_message = _l("Please log in to continue.")
    login_manager.login_message_category = "warning"
    login_manager.session_protection = "basic"

    app.jinja_env.filters.update(
        date=format_date,
        birth=format_birth,
        time=format_time,
        minute=format_minute,
        number=format_number,
        percent=format_percent,
        tenths=format_tenths,
        reject_keys=reject_keys,
    )

    app.jinja_env.globals.update(
        # Flask's and Flask-WTF's own, replaced by ones that keep what they built.
        url_for=page_globals.url_for,
        csrf_token=page_globals.csrf_token,
        get_locale=get_locale,
        role_label=role_label,
        id_kind_label=id_kind_label,
        import_state_label=import_state_label,
        field_label=field_label,
        action_label=action_label,
        entity_label=entity_label,
        value_label=value_label,
        change_value=change_value,
        job_label=job_label,
        result_label=result_label,
        status_label=status_label,
        sex_label=sex_label,
        navigation=navigation,
        time_heading=time_heading,
    )

    @app.before_request
    def _refuse_nul_bytes():
        # PostgreSQL cannot store NUL in text; refuse it cleanly instead of failing later.
        if (
            b"\x00" in request.query_string
            or b"%00" in request.query_string.lower()
            or any("\x00" in value for value in request.form.values())
        ):
            abort(400)

    @app.after_request
    def _vary(response):
        # The security headers are portal.core.headers'.
        return vary_on_htmx(response)

    login_manager.unauthorized_handler(_send_to_login)

    @app.errorhandler(CSRFError)
    def _csrf_error(error):
        db.session.rollback()
        if not current_user.is_authenticated and _is_htmx_call():
            # The session ended (logged out in another tab, expired): the token went with
            # it, and "reload and try again" would only lead to the login page anyway.
            return _send_to_login(_("Your session has ended. Log in again to continue."))
        return error_response(400, csrf_message())

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        db.session.rollback()
        return error_response(error.code or 500, None)

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.TimeoutError)
    def _database_unavailable(error: Exception):
        if not database.is_unavailable(error):
            return _unexpected(error)
        return busy_response(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        return error_response(500, None)


def busy_response(error: Exception):
    """The database could not serve within its limits (portal/core/database.py): "busy, try
    again", as a page, a fragment or JSON like every error, with Retry-After."""
    current_app.logger.warning("Database unavailable: %s", str(error).splitlines()[0][:300])
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:  # the connection is gone: the pool replaces it
        pass
    # The page is drawn as for a visitor: the user's row (expired by the rollback) cannot
    # be read again now. flask_login keeps the request's user in g._login_user.
    g._login_user = login_manager.anonymous_user()
    response = make_response(error_response(503, None))
    response.headers["Retry-After"] = str(database.RETRY_AFTER_SECONDS)
    return response


def _is_htmx_call() -> bool:
    """An htmx request whose answer htmx itself handles (a history restore swaps the whole
    body and ignores HX-Redirect: it is answered like a page)."""
    htmx = getattr(request, "htmx", None)
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def _page_path() -> str | None:
    """The page the user is on: for an htmx call the browser's address (``HX-Current-URL``),
    not the fragment's URL; a foreign origin is ignored (the login refuses it anyway)."""
    if not _is_htmx_call():
        return request.full_path.rstrip("?") if request.method == "GET" else None
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if current.netloc and current.netloc != request.host:
        return None
    if not current.path.startswith("/"):
        return None
    return current.path + (f"?{current.query}" if current.query else "")


def _send_to_login(message: str | None = None):
    """Without a valid session, every request of a person's browser ends on the login page
    as a whole page, coming back afterwards to the page they were on. An htmx call gets
    ``HX-Redirect`` (htmx follows it as a page load); a plain redirect would be followed
    inside the XMLHttpRequest and the login page swapped into a fragment's place."""
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return error_response(401, None)
    flash(message or str(login_manager.login_message), login_manager.login_message_category)
    next_path = _page_path()
    target = url_for(str(login_manager.login_view), next=next_path)  # None: no next
    if _is_htmx_call():
        response = make_response("", 401)
        response.headers["HX-Redirect"] = target
        # The page's script keeps what the person typed before following it (static/js).
        response.headers["X-Session-Ended"] = "1"
        return vary_on_htmx(response)
    return redirect(target)


def csrf_message() -> str:
    return _("Your session form has expired or is invalid. Reload the page and try again.")


def error_response(code: int, message: str | None):
    message = message or str(ERROR_MESSAGES.get(code, ERROR_MESSAGES[500]))
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=message, status=code), code
    if is_fragment_request():
        # Show the message in the page's message area and leave the user's form as it is.
        response = render("errors/_message.html", status=code, code=code, message=message)
        response.headers["HX-Retarget"] = "#messages"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render("errors/error.html", status=code, code=code, message=message)
