"""Second factors (their URLs are listed in ``portal/auth/blueprint.py``):

- /login/second-factor…   the step after the password: an app's code, a passkey or a
                           recovery code; the user is logged in only once it passes;
- /login/enrol…           the first time, when the role requires a second factor: set up
                           an app or a passkey, then see ten recovery codes once;
- /account/security…      the user's own factors, changed after giving the password again;
- /admin/accounts/second-factors, /admin/accounts/<id>/second-factors/reset
                           an administrator requires a factor per role of the province, and
                           resets an account's factors.

The rules are in portal/auth/mfa.py; passkeys need static/js/passkey.js.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.areas.models import Area
from portal.audit import services as audit
from portal.auth import mfa, permissions, services
from portal.auth.forms import (
    AppSetupForm,
    CurrentPasswordForm,
    PasskeyForm,
    SecondFactorForm,
)
from portal.auth.models import Passkey, Role, TotpFactor, User
from portal.auth.routes import retry_after, throttled_message
from portal.core.labels import role_label
from portal.core.rendering import render
from portal.core.web import safe_next
from portal.extensions import db


def _no_store(response: Response) -> Response:
    """Pages and answers that carry a secret (a TOTP key, recovery codes, a challenge) are
    kept by no cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(body: str | dict, status: int = 200) -> Response:
    response = (
        current_app.response_class(body, status=status, mimetype="application/json")
        if isinstance(body, str)
        else jsonify(body)
    )
    response.status_code = status
    return _no_store(response)


def _recovery_page(codes: list[str], continue_url: str, first: bool) -> Response:
    """The codes, shown once: rendered in the answer to the POST that made them (a redirect
    would have to keep them somewhere until the next request)."""
    return _no_store(
        render("auth/recovery_codes.html", codes=codes, continue_url=continue_url, first=first)
    )


# --- the step after the password ------------------------------------------------------------


def _pending(json: bool = False) -> User:
    """The user between password and second factor; else back to the login page."""
    user = mfa.pending_user()
    if user is None:
        mfa.end_pending()
        message = _("The sign-in was not finished in time. Please log in again.")
        if json:
            abort(_json({"error": message, "redirect": url_for("auth.get_login")}, 401))
        flash(message, "warning")
        abort(redirect(url_for("auth.get_login"), 303))
    return user


def _finish_login(user: User, factor: str) -> str:
    """Log the user in after their second factor; where they go next."""
    next_url = mfa.pending_next()
    mfa.end_pending()
    services.open_session(user, factor)
    session.permanent = True
    return safe_next(next_url)


def _second_factor_page(
    user: User,
    form: SecondFactorForm | None = None,
    passkey_form: PasskeyForm | None = None,
    status: int = 200,
    headers: dict | None = None,
) -> Response:
    response = render(
        "auth/second_factor.html",
        status=status,
        user=user,
        factors=mfa.factors_of(user),
        form=form or SecondFactorForm(),
        passkey_form=passkey_form or PasskeyForm(),
    )
    response.headers.update(headers or {})
    return _no_store(response)


def _throttled(user: User) -> services.LoginThrottled | None:
    try:
        services.refuse_if_throttled(user.username, second_factor=True)
    except services.LoginThrottled as throttled:
        db.session.commit()
        return throttled
    return None


def _refused_second_factor(
    user: User, factor: str, form: SecondFactorForm | PasskeyForm
) -> Response:
    """A wrong code or passkey: audited (it counts in the throttle), the page again with the
    message on the form that was used."""
    audit.record("auth.mfa_failed", "user", user.username, {"factor": [None, factor]}, actor=user)
    db.session.commit()
    if isinstance(form, PasskeyForm):
        form.form_errors.append(_("The passkey was not accepted."))
        return _second_factor_page(user, passkey_form=form, status=401)
    form.form_errors.append(_("This code is wrong or was already used."))
    return _second_factor_page(user, form, status=401)


def _after_recovery_code(user: User) -> None:
    left = mfa.factors_of(user).recovery_left
    flash(
        ngettext(
            "You signed in with a recovery code; %(num)d code is left. Check your second "
            "factors on the Security page.",
            "You signed in with a recovery code; %(num)d codes are left. Check your second "
            "factors on the Security page.",
            left,
        ),
        "warning",
    )


def get_second_factor():
    user = _pending()
    if not mfa.has_factor(user):
        return redirect(url_for("auth.get_enrolment"), 303)
    return _second_factor_page(user)


def post_second_factor():
    user = _pending()
    factors = mfa.factors_of(user)
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return _second_factor_page(user, form, status=422)
    throttled = _throttled(user)
    if throttled is not None:
        form.form_errors.append(throttled_message(throttled))
        return _second_factor_page(user, form, status=429, headers=retry_after(throttled))
    code = form.code.data
    app_code = factors.totp is not None and mfa.normalise_totp_code(code) is not None
    if app_code:
        factor = "totp" if mfa.check_totp(user, code) else None
    else:
        factor = "recovery_code" if mfa.use_recovery_code(user, code) else None
    if factor is None:
        return _refused_second_factor(user, "totp" if app_code else "recovery_code", form)
    target = _finish_login(user, factor)
    db.session.commit()
    if factor == "recovery_code":
        _after_recovery_code(user)
    return redirect(target, 303)


def post_second_factor_passkey_options():
    user = _pending(json=True)
    if not mfa.factors_of(user).passkeys:
        return _json({"error": _("No passkey is registered for this account.")}, 400)
    options, challenge = mfa.authentication_options(user)
    mfa.keep_challenge("authenticate", user, challenge)
    return _json(options)


def post_second_factor_passkey():
    user = _pending()
    passkey_form = PasskeyForm()
    if not passkey_form.validate_on_submit():
        return _second_factor_page(user, passkey_form=passkey_form, status=422)
    throttled = _throttled(user)
    if throttled is not None:
        passkey_form.form_errors.append(throttled_message(throttled))
        return _second_factor_page(
            user, passkey_form=passkey_form, status=429, headers=retry_after(throttled)
        )
    issued = mfa.take_challenge("authenticate", user)
    passkey = (
        mfa.check_passkey(user, passkey_form.credential.data or "", issued[0]) if issued else None
    )
    if passkey is None:
        return _refused_second_factor(user, "passkey", passkey_form)
    target = _finish_login(user, "passkey")
    db.session.commit()
    return redirect(target, 303)


# --- the first factor, when the role requires one ---------------------------------------------


def _enrolment_page(
    user: User,
    app_form: AppSetupForm | None = None,
    passkey_form: PasskeyForm | None = None,
    status: int = 200,
) -> Response:
    secret = mfa.enrolment_secret(user)
    assert secret is not None
    return _no_store(
        render(
            "auth/enrol.html",
            status=status,
            user=user,
            secret=secret,
            grouped_secret=mfa.grouped_secret(secret),
            qr=mfa.qr_svg(mfa.totp_uri(secret, user), _("QR code for the authenticator app")),
            app_form=app_form or AppSetupForm(),
            passkey_form=passkey_form or PasskeyForm(),
            required=mfa.is_required(user),
        )
    )


def _enrolling() -> User:
    """The pending user who has no factor yet (one who has is sent to the second step)."""
    user = _pending()
    if mfa.has_factor(user):
        abort(redirect(url_for("auth.get_second_factor"), 303))
    return user


def get_enrolment():
    return _enrolment_page(_enrolling())


def post_enrol_app():
    user = _enrolling()
    form = AppSetupForm()
    if not form.validate_on_submit():
        return _enrolment_page(user, app_form=form, status=422)
    secret = mfa.enrolment_secret(user, create=False)
    if secret is None:
        flash(_("The set-up took too long: scan the new code below."), "warning")
        return redirect(url_for("auth.get_enrolment"), 303)
    try:
        mfa.enrol_totp(user, secret, form.code.data)
    except mfa.MfaRefused as refused:
        db.session.rollback()
        form.code.errors = [*form.code.errors, str(refused.message)]
        return _enrolment_page(user, app_form=form, status=422)
    codes = mfa.generate_recovery_codes(user)
    target = _finish_login(user, "totp")
    db.session.commit()
    return _recovery_page(codes, target, first=True)


def post_enrol_passkey_options():
    user = _pending(json=True)
    if mfa.has_factor(user):
        return _json({"error": _("A second factor is already set up.")}, 409)
    form = PasskeyForm()
    if not form.validate_on_submit():
        return _json(
            {
                "error": " ".join(str(e) for e in form.name.errors)
                or _("The request could not be understood.")
            },
            400,
        )
    options, challenge = mfa.registration_options(user)
    mfa.keep_challenge("register", user, challenge, form.name.data or "")
    return _json(options)


def post_enrol_passkey():
    user = _enrolling()
    form = PasskeyForm()
    if not form.validate_on_submit():
        return _enrolment_page(user, passkey_form=form, status=422)
    issued = mfa.take_challenge("register", user)
    try:
        if issued is None:
            raise mfa.MfaRefused(_("The passkey could not be registered. Try again."))
        mfa.register_passkey(user, form.credential.data or "", issued[0], issued[1])
    except mfa.MfaRefused as refused:
        db.session.rollback()
        form.form_errors.append(str(refused.message))
        return _enrolment_page(user, passkey_form=form, status=422)
    codes = mfa.generate_recovery_codes(user)
    target = _finish_login(user, "passkey")
    db.session.commit()
    return _recovery_page(codes, target, first=True)


# --- the user's own security page ---------------------------------------------------------------
# Changes need the password given again within MFA_PENDING_MINUTES, in this browser.

REAUTH = "mfa_reauth"


def _recently_confirmed() -> bool:
    state = session.get(REAUTH)
    lifetime = current_app.config["MFA_PENDING_MINUTES"] * 60
    return (
        isinstance(state, dict)
        and state.get("user_id") == current_user.id
        and isinstance(state.get("at"), int | float)
        and 0 <= time.time() - state["at"] <= lifetime
    )


def _require_confirmed(json: bool = False) -> None:
    if _recently_confirmed():
        return
    message = _("Give your password again to change your sign-in security.")
    if json:
        abort(_json({"error": message}, 403))
    flash(message, "warning")
    abort(redirect(url_for("auth.show_security"), 303))


def _security_page(
    password_form: CurrentPasswordForm | None = None,
    passkey_form: PasskeyForm | None = None,
    status: int = 200,
    headers: dict | None = None,
) -> Response:
    user = current_user._get_current_object()
    response = render(
        "auth/security.html",
        status=status,
        factors=mfa.factors_of(user),
        required=mfa.is_required(user),
        confirmed=_recently_confirmed(),
        password_form=password_form or CurrentPasswordForm(),
        passkey_form=passkey_form or PasskeyForm(),
    )
    response.headers.update(headers or {})
    return _no_store(response)


def _after_first_factor(user: User) -> Response | None:
    """The recovery codes page when the factor just added is the user's first."""
    if mfa.factors_of(user).count() == 1:
        codes = mfa.generate_recovery_codes(user)
        db.session.commit()
        return _recovery_page(codes, url_for("auth.show_security"), first=True)
    db.session.commit()
    return None


@login_required
def show_security():
    return _security_page()


@login_required
def confirm_security_password():
    form = CurrentPasswordForm()
    if not form.validate_on_submit():
        return _security_page(password_form=form, status=422)
    user = current_user._get_current_object()
    try:
        right = services.check_current_password(user, form.password.data)
    except services.LoginThrottled as throttled:
        db.session.commit()
        form.password.errors = [throttled_message(throttled)]
        return _security_page(password_form=form, status=429, headers=retry_after(throttled))
    db.session.commit()
    if not right:
        form.password.errors = [_("This is not your password.")]
        return _security_page(password_form=form, status=401)
    session[REAUTH] = {"user_id": user.id, "at": time.time()}
    return redirect(url_for("auth.show_security"), 303)


@login_required
def start_app_setup():
    _require_confirmed()
    mfa.forget_enrolment_secret()
    mfa.enrolment_secret(current_user)
    return redirect(url_for("auth.show_app_setup"), 303)


def _app_setup_page(form: AppSetupForm | None = None, status: int = 200) -> Response:
    user = current_user._get_current_object()
    secret = mfa.enrolment_secret(user, create=False)
    if secret is None:
        return redirect(url_for("auth.show_security"), 303)
    return _no_store(
        render(
            "auth/security_app.html",
            status=status,
            secret=secret,
            grouped_secret=mfa.grouped_secret(secret),
            qr=mfa.qr_svg(mfa.totp_uri(secret, user), _("QR code for the authenticator app")),
            app_form=form or AppSetupForm(),
            replacing=mfa.factors_of(user).totp is not None,
        )
    )


@login_required
def show_app_setup():
    _require_confirmed()
    return _app_setup_page()


@login_required
def confirm_app_setup():
    _require_confirmed()
    user = current_user._get_current_object()
    form = AppSetupForm()
    if not form.validate_on_submit():
        return _app_setup_page(form, 422)
    secret = mfa.enrolment_secret(user, create=False)
    if secret is None:
        flash(_("The set-up took too long: start again."), "warning")
        return redirect(url_for("auth.show_security"), 303)
    try:
        mfa.enrol_totp(user, secret, form.code.data)
    except mfa.MfaRefused as refused:
        db.session.rollback()
        form.code.errors = [*form.code.errors, str(refused.message)]
        return _app_setup_page(form, 422)
    mfa.forget_enrolment_secret()
    first = _after_first_factor(user)
    if first is not None:
        return first
    flash(_("The authenticator app is set up."), "success")
    return redirect(url_for("auth.show_security"), 303)


def _remove_factor(remove, done: str):
    """Remove one of the user's factors (``remove(user)``, audited by mfa); a refusal (the
    last factor of a role that requires one) is said on the security page, nothing kept."""
    try:
        remove(current_user._get_current_object())
    except mfa.MfaRefused as refused:
        db.session.rollback()
        flash(str(refused.message), "danger")
        return redirect(url_for("auth.show_security"), 303)
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("auth.show_security"), 303)


@login_required
def remove_app():
    _require_confirmed()
    return _remove_factor(
        lambda user: mfa.remove_totp(user), _("The authenticator app was removed.")
    )


@login_required
def post_passkey_options():
    _require_confirmed(json=True)
    form = PasskeyForm()
    if not form.validate_on_submit():
        return _json(
            {
                "error": " ".join(str(e) for e in form.name.errors)
                or _("The request could not be understood.")
            },
            400,
        )
    user = current_user._get_current_object()
    options, challenge = mfa.registration_options(user)
    mfa.keep_challenge("register", user, challenge, form.name.data or "")
    return _json(options)


@login_required
def add_passkey():
    _require_confirmed()
    user = current_user._get_current_object()
    form = PasskeyForm()
    if not form.validate_on_submit():
        return _security_page(passkey_form=form, status=422)
    issued = mfa.take_challenge("register", user)
    try:
        if issued is None:
            raise mfa.MfaRefused(_("The passkey could not be registered. Try again."))
        passkey = mfa.register_passkey(user, form.credential.data or "", issued[0], issued[1])
    except mfa.MfaRefused as refused:
        db.session.rollback()
        form.form_errors.append(str(refused.message))
        return _security_page(passkey_form=form, status=422)
    first = _after_first_factor(user)
    if first is not None:
        return first
    flash(_("Passkey %(name)s added.", name=passkey.name), "success")
    return redirect(url_for("auth.show_security"), 303)


@login_required
def remove_passkey(passkey_id: int):
    passkey = db.session.get(Passkey, passkey_id)
    if passkey is None or passkey.user_id != current_user.id:
        abort(404)
    _require_confirmed()
    return _remove_factor(
        lambda user: mfa.remove_passkey(user, passkey), _("The passkey was removed.")
    )


@login_required
def regenerate_recovery_codes():
    _require_confirmed()
    user = current_user._get_current_object()
    if not mfa.has_factor(user):
        flash(_("Set up an authenticator app or a passkey first."), "warning")
        return redirect(url_for("auth.show_security"), 303)
    codes = mfa.generate_recovery_codes(user)
    db.session.commit()
    return _recovery_page(codes, url_for("auth.show_security"), first=False)


# --- administrators ------------------------------------------------------------------------------


def _province() -> Area:
    if not permissions.can_manage_accounts(current_user):
        abort(403)
    province = db.session.get(Area, mfa.province_id_of(current_user.area))
    assert province is not None
    return province


def _policy_rows(province: Area) -> list[dict]:
    """Per eligible role: required or not, its active accounts in the province and how many
    of them have no second factor yet."""
    required = mfa.required_roles(province.id)
    with_factor = sa.or_(
        sa.exists().where(TotpFactor.user_id == User.id),
        sa.exists().where(Passkey.user_id == User.id),
    )
    counts = {
        role: (total, without)
        for role, total, without in db.session.execute(
            sa.select(User.role, sa.func.count(), sa.func.count().filter(sa.not_(with_factor)))
            .where(
                User.area_id.in_(permissions.areas_managed_by(current_user)), User.active.is_(True)
            )
            .group_by(User.role)
        )
    }
    return [
        {
            "role": role,
            "label": role_label(role),
            "required": role in required,
            "accounts": counts.get(role, (0, 0))[0],
            "without": counts.get(role, (0, 0))[1],
        }
        for role in mfa.ELIGIBLE_ROLES
    ]


@login_required
def show_mfa_policy():
    province = _province()
    return render("auth/mfa_policy.html", province=province, rows=_policy_rows(province))


@login_required
def update_mfa_policy():
    province = _province()  # (the CSRF token is checked for every POST: portal/__init__.py)
    wanted = set()
    for value in request.form.getlist("role"):
        try:
            role = Role(value)
        except ValueError:
            abort(400)
        if role not in mfa.ELIGIBLE_ROLES:
            abort(400)
        wanted.add(role)
    changes = mfa.set_required_roles(province, wanted, actor=current_user)
    db.session.commit()
    flash(
        _("Saved: it applies from each user's next sign-in.") if changes else _("Nothing changed."),
        "success",
    )
    return redirect(url_for("auth.show_mfa_policy"), 303)


@login_required
def reset_account_factors(account_id: int):
    account = db.session.get(User, account_id)
    if account is None or not permissions.manages(current_user, account):
        abort(404)
    changes = mfa.reset_factors(account, actor=current_user)
    db.session.commit()
    flash(
        _("The account's second factors were removed and its sessions ended.")
        if changes
        else _("The account had no second factor."),
        "success",
    )
    return redirect(url_for("auth.show_account", account_id=account.id), 303)
