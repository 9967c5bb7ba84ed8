from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.auth import mfa, services
from portal.auth.forms import LoginForm
from portal.core.web import csrf_message, error_response, safe_next
from portal.extensions import db, login_manager


@login_manager.user_loader
def load_user(token: str):
    return services.load_session_user(token)


def get_login():
    if current_user.is_authenticated:
        return redirect(url_for("records.list_records"))
    return render_template("auth/login.html", form=LoginForm(), next=request.args.get("next"))


def post_login():
    form = LoginForm()
    next_url = request.form.get("next")
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, next=next_url), 400
    try:
        user = services.check_credentials(form.username.data, form.password.data)
    except services.LoginThrottled as throttled:
        db.session.commit()
        form.form_errors.append(throttled_message(throttled))
        return (
            render_template("auth/login.html", form=form, next=next_url),
            429,
            retry_after(throttled),
        )
    if user is None:
        db.session.commit()
        form.form_errors.append(_("Wrong username or password."))
        return render_template("auth/login.html", form=form, next=next_url), 401
    if mfa.second_step_needed(user):
        # Not logged in yet: the second factor (or, the first time, setting one up) next.
        mfa.begin_pending(user, next_url)
        db.session.commit()
        step = "auth.get_second_factor" if mfa.has_factor(user) else "auth.get_enrolment"
        return redirect(url_for(step), code=303)
    services.open_session(user)
    db.session.commit()
    session.permanent = True
    return redirect(safe_next(next_url), code=303)


def throttled_message(throttled: services.LoginThrottled) -> str:
    return ngettext(
        "Too many failed attempts. Please wait %(num)s minute and try again.",
        "Too many failed attempts. Please wait %(num)s minutes and try again.",
        throttled.minutes,
    )


def retry_after(throttled: services.LoginThrottled) -> dict[str, str]:
    return {"Retry-After": str(throttled.minutes * 60)}


def login_form_expired(error):
    """An expired login form is shown again with the username kept, not an error page."""
    db.session.rollback()
    if request.endpoint != "auth.post_login":
        return error_response(400, csrf_message())
    form = LoginForm()
    form.form_errors.append(csrf_message())
    return render_template("auth/login.html", form=form, next=request.form.get("next")), 400


@login_required
def post_logout():
    services.logout(current_user._get_current_object())
    db.session.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("auth.get_login"), code=303)
