"""The settings page. Every change is a POST with CSRF; token changes are written to the audit log.

A new API token's secret is shown once, in the answer to the POST that created it, and is never kept anywhere:
not in the database (only its hash), not in the session. Flask's session is a signed, not encrypted, cookie, so a
secret put there travels readable in Set-Cookie and the next request's Cookie header, and an old cookie value
replays it.

What stops a reload of that answer from creating a second token is a one-time nonce, which is not secret: each time
the settings page renders the create form, it puts a fresh random nonce in a hidden field and appends it to a short
list in the session (the last MAX_TOKEN_NONCES). POST /settings/tokens creates a token only for a nonce on that
list and removes it; the browser's reload resends the spent nonce, so it creates nothing and is sent back to the
settings page with a message that the token was already created (as is a forged or very old form).
"""

from __future__ import annotations

import secrets

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required, login_user, logout_user
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from attendance_shared.models import ApiToken, Teacher, utcnow

from ..api.tokens import create_token
from ..audit import audit
from ..auth.user import TeacherUser, current_teacher_id, end_every_session
from ..extensions import db, limiter
from ..extensions import settings as app_settings
from ..ids import parse_id
from . import bp
from .forms import PasswordForm, RetentionForm, RevokeTokenForm, TokenForm, TwoStepOffForm

MAX_ACTIVE_TOKENS = 20
#: the session's list of create-form nonces not yet spent (see the module's docstring)
NONCES_KEY = "token_form_nonces"
#: how many recent create forms (pages, tabs) stay usable; an older one is refused as already used
MAX_TOKEN_NONCES = 10
#: where 705c074 kept a new token's secret in the session cookie: removed from any session that still holds it
LEGACY_SHOW_ONCE_KEY = "new_api_token"
ALREADY_CREATED = (
    "That token was already created; its secret is shown only once. "
    "Revoke it and create a new one if you did not copy it."
)


def _teacher() -> Teacher:
    teacher = db().get(Teacher, current_teacher_id())
    if teacher is None:
        abort(404)
    return teacher


def _issue_nonce() -> str:
    nonce = secrets.token_urlsafe(16)
    issued = session.get(NONCES_KEY)
    issued = [n for n in issued if isinstance(n, str)] if isinstance(issued, list) else []
    session[NONCES_KEY] = [*issued, nonce][-MAX_TOKEN_NONCES:]
    return nonce


def _issued(nonce: object) -> bool:
    issued = session.get(NONCES_KEY)
    return isinstance(nonce, str) and bool(nonce) and isinstance(issued, list) and nonce in issued


def _spend(nonce: str) -> None:
    session[NONCES_KEY] = [n for n in session.get(NONCES_KEY) or [] if n != nonce]


def _render(
    token_form: TokenForm | None = None,
    retention_form: RetentionForm | None = None,
    password_form: PasswordForm | None = None,
    new_token: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    teacher = _teacher()
    session.pop(LEGACY_SHOW_ONCE_KEY, None)
    token_form = token_form or TokenForm(formdata=None)
    token_form.nonce.data = _issue_nonce()  # also when the form comes back with an error: its nonce is not spent
    tokens = (
        db()
        .scalars(
            select(ApiToken)
            .where(ApiToken.teacher_id == teacher.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
        .all()
    )
    response = render_template(
        "account/settings.html",
        teacher=teacher,
        tokens=tokens,
        new_token=new_token,
        token_form=token_form,
        revoke_form=RevokeTokenForm(formdata=None),
        retention_form=retention_form or RetentionForm(formdata=None, obj=teacher),
        password_form=password_form or PasswordForm(formdata=None),
        two_step_off_form=TwoStepOffForm(formdata=None),
    )
    # The page may hold a freshly created token: keep it out of every cache and the back-forward history.
    return response, status, {"Cache-Control": "no-store"}


@bp.route("/settings")
@login_required
def settings() -> ResponseReturnValue:
    return _render()


@bp.route("/settings/tokens", methods=["POST"])
@login_required
def create_api_token() -> ResponseReturnValue:
    """Create, and answer with the settings page showing the token this once (see the module's docstring: it is
    never stored, nor put in the session); the form's nonce is spent, so a reload of this answer creates nothing."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _render(token_form=form, status=400)
    if not _issued(form.nonce.data):  # spent by the token it created (a reload), or forged
        flash(ALREADY_CREATED, "info")
        return redirect(url_for("account.settings"), 303)
    active = db().scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.teacher_id == current_teacher_id(), ApiToken.revoked_at.is_(None))
    )
    if (active or 0) >= MAX_ACTIVE_TOKENS:
        form.name.errors = [f"You have {MAX_ACTIVE_TOKENS} active tokens; revoke one you no longer use first."]
        return _render(token_form=form, status=400)
    _spend(form.nonce.data)  # only now: a refused form (no name, too many tokens) can be sent again
    name = form.name.data.strip()
    token, plain = create_token(current_teacher_id(), name)
    # Never the token itself: its name and display prefix are enough to tell tokens apart.
    audit("token_created", current_teacher_id(), f"name={name!r} prefix={token.prefix}")
    db().commit()
    return _render(new_token=plain)


@bp.route("/settings/tokens/revoke", methods=["POST"])
@login_required
def revoke_api_token() -> ResponseReturnValue:
    form = RevokeTokenForm()
    token_id = parse_id(form.token_id.data)
    if not form.validate_on_submit() or token_id is None:
        abort(400)
    token = db().scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.teacher_id == current_teacher_id()))
    if token is None:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit("token_revoked", current_teacher_id(), f"name={token.name!r} prefix={token.prefix}")
        db().commit()
    flash(f"The token “{token.name}” was revoked; scripts using it can no longer connect.", "success")
    return redirect(url_for("account.settings"), 303)


@bp.route("/settings/retention", methods=["POST"])
@login_required
def update_retention() -> ResponseReturnValue:
    form = RetentionForm()
    if not form.validate_on_submit():
        return _render(retention_form=form, status=400)
    teacher = _teacher()
    days = int(form.photo_retention_days.data)
    if days != teacher.photo_retention_days:
        audit("retention_changed", current_teacher_id(), f"from={teacher.photo_retention_days} to={days}")
        teacher.photo_retention_days = days
        db().commit()
    flash(f"Classroom photos will be kept for {days} day(s), then deleted. Attendance records stay.", "success")
    return redirect(url_for("account.settings"), 303)


def _account_key() -> str:
    return f"password-change:{current_teacher_id()}"


@bp.route("/settings/password", methods=["POST"])
@login_required
@limiter.limit(lambda: app_settings().login_limit_per_account, key_func=_account_key)  # no guessing from a session
def change_password() -> ResponseReturnValue:
    """The current password first: a session left open on a shared classroom computer must not be enough."""
    form = PasswordForm()
    if not form.validate_on_submit():
        return _render(password_form=form, status=400)
    teacher = _teacher()
    if not check_password_hash(teacher.password_hash, form.current_password.data):
        audit("password_change_refused", teacher.id, "wrong current password")
        db().commit()
        form.current_password.errors = ["That is not your current password."]
        return _render(password_form=form, status=400)
    if form.new_password.data == form.current_password.data:
        form.new_password.errors = ["Choose a password different from the current one."]
        return _render(password_form=form, status=400)
    teacher.password_hash = generate_password_hash(form.new_password.data)
    end_every_session(teacher)
    audit("password_changed", teacher.id)
    db().commit()
    # This browser signs in again with the new password (a new session, remembered as before); every other one
    # is signed out.
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(TeacherUser(teacher), remember=remembered)
    flash("Your password is changed. Other browsers signed in to your account are signed out.", "success")
    return redirect(url_for("account.settings"), 303)


@bp.route("/settings/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere() -> ResponseReturnValue:
    """For a session left open elsewhere (a classroom computer, a lost phone): every session and remember-me cookie
    of the account ends, this browser's too."""
    teacher = _teacher()
    end_every_session(teacher)
    audit("signed_out_everywhere", teacher.id)
    db().commit()
    logout_user()
    flash("You are signed out on every browser and device, this one included. Sign in again here.", "success")
    return redirect(url_for("auth.login"), 303)
