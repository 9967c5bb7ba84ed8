from __future__ import annotations

from flask import current_app, jsonify, redirect, request, session, url_for
from flask_login import current_user

from portal.core import database
from portal.core.web import safe_next


def index():
    if current_user.is_authenticated:
        return redirect(safe_next(None))
    return redirect(url_for("auth.get_login"))


# /healthz answers within this many seconds, whatever the database does (issue 15, item 4).
HEALTHZ_SECONDS = 1.5


def healthz():
    if not database.answers_within(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        HEALTHZ_SECONDS,
    ):
        response = jsonify(status="error", database="unreachable")
        response.status_code = 503
        response.headers["Retry-After"] = str(database.RETRY_AFTER_SECONDS)
        return response
    return jsonify(status="ok", database="ok")


def post_language():
    lang = request.form.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next(request.form.get("next")), code=303)
