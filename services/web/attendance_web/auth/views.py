"""Sign up, sign in, sign out. How sign-in attempts are limited: auth.throttle; how sessions end: auth.user.

Sign-up never says whether an address already has an account: a new account and a taken address get the same
answer (to the sign-in page, with the same words), and the taken address's account is left as it was."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, make_response, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from attendance_shared.models import Teacher

from ..audit import audit
from ..extensions import db, limiter, settings
from ..school.accounts import may_sign_up, open_school
from . import bp, throttle
from .forms import LoginForm, SignupForm
from .user import TeacherUser, end_every_session

# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")
#: the sign-in form is filled in with the address just signed up with (kept in the session, not the URL)
SIGNED_UP_EMAIL_KEY = "signed_up_email"
SIGNED_UP = (
    "Your account is ready if this address had none: sign in with it and the password you just chose. "
    "If it already had an account, nothing was changed: sign in with that account's password."
)
NOT_MATCHING = "That email and password do not match an account."
DISABLED = "This account is disabled. Your school's IT administrator can enable it again."


def _safe_next(target: str | None) -> str:
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("courses.dashboard")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: settings().signup_limit_per_address, methods=["POST"])
def signup() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    if not may_sign_up():
        return render_template("school/invite_only.html"), 200 if request.method == "GET" else 403
    form = SignupForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        teacher = open_school(
            name=form.name.data.strip(),
            email=email,
            password_hash=generate_password_hash(form.password.data),
            school_name=form.school_name.data,
        )
        session_ = db()
        try:
            session_.commit()
        except IntegrityError:  # the address is taken: the same answer, and the account stays as it was
            session_.rollback()
            existing = session_.scalar(select(Teacher.id).where(Teacher.email == email))
            audit("signup_address_taken", existing, f"email={email}")
        else:
            audit("signup", teacher.id)
        session_.commit()
        session[SIGNED_UP_EMAIL_KEY] = email
        flash(SIGNED_UP, "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/signup.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: settings().login_limit_per_address,
    methods=["POST"],
    deduct_when=throttle.failed,
    exempt_when=throttle.from_known_device,
)
@limiter.limit(
    lambda: settings().login_limit_per_account,
    methods=["POST"],
    key_func=throttle.account_key,
    deduct_when=throttle.failed,
    exempt_when=throttle.from_known_device,
)
@limiter.limit(
    lambda: settings().login_limit_per_account,
    methods=["POST"],
    key_func=throttle.device_key,
    deduct_when=throttle.failed,
    exempt_when=throttle.not_from_known_device,
)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    form = LoginForm()
    if request.method == "GET" and not form.email.data:
        form.email.data = session.pop(SIGNED_UP_EMAIL_KEY, None)
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        teacher = db().scalar(select(Teacher).where(Teacher.email == email))
        ok = check_password_hash(teacher.password_hash if teacher else _DUMMY_HASH, form.password.data)
        if teacher and ok and teacher.disabled_at is None:
            audit("login", teacher.id)
            db().commit()
            login_user(TeacherUser(teacher), remember=bool(form.remember.data))
            response = make_response(redirect(_safe_next(request.args.get("next"))))
            throttle.remember_device(response, email)
            return response
        if teacher and ok:  # the right password: saying the account is disabled reveals nothing new
            audit("login_refused_disabled", teacher.id)
            db().commit()
            flash(DISABLED, "error")
            return render_template("auth/login.html", form=form), 403
        audit("login_failed", teacher.id if teacher else None, f"email={email}")
        db().commit()
        flash(NOT_MATCHING, "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    """Ends every session and remember-me cookie of the account, copies included (auth.user)."""
    teacher = db().get(Teacher, int(current_user.id))
    if teacher is not None:
        end_every_session(teacher)
    audit("logout", int(current_user.id))
    db().commit()
    logout_user()
    flash("You are logged out, on this browser and every other one.", "success")
    return redirect(url_for("auth.login"))
