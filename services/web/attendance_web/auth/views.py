"""Sign up, sign in, sign out. How sign-in attempts are limited: auth.throttle; how sessions end: auth.user.

Sign-up never says whether an address already has an account: a new account and a taken address get the same
answer (to the sign-in page, with the same words), and the taken address's account is left as it was."""

from __future__ import annotations

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
from ..sso.forms import SchoolEmailForm
from ..sso.schools import password_sign_in_refused, schools_with_sso
from . import bp, throttle, two_step
from .forms import CodeForm, LoginForm, SignupForm
from .user import TeacherUser, end_every_session, safe_next

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
WRONG_CODE = (
    "That code is not right, or it was used already. Type the 6 digits your authenticator app shows now "
    "(a new code appears every 30 seconds)."
)
CODE_PAGE_EXPIRED = "Sign in again: the page for your code waits only 5 minutes after your password."


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
@throttle.guarded
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
        refused = password_sign_in_refused(teacher) if teacher and ok and teacher.disabled_at is None else None
        if teacher and refused:  # the right password: saying how this school signs in reveals nothing new
            audit("login_refused_password_off", teacher.id)
            db().commit()
            flash(refused, "error")
            return _login_page(form, 403)
        if teacher and ok and teacher.disabled_at is None and two_step.is_on(teacher):
            two_step.start_pending(
                teacher, remember=bool(form.remember.data), next_url=safe_next(request.args.get("next"))
            )
            audit("login_password_ok", teacher.id, "waiting for the two-step code")
            db().commit()
            return redirect(url_for("auth.login_code"), 303)
        if teacher and ok and teacher.disabled_at is None:
            audit("login", teacher.id)
            db().commit()
            return _signed_in(teacher, remember=bool(form.remember.data), next_url=request.args.get("next"))
        if teacher and ok:  # the right password: saying the account is disabled reveals nothing new
            audit("login_refused_disabled", teacher.id)
            db().commit()
            flash(DISABLED, "error")
            return _login_page(form, 403)
        audit("login_failed", teacher.id if teacher else None, f"email={email}")
        db().commit()
        flash(NOT_MATCHING, "error")
        return _login_page(form, 401)
    return _login_page(form, 200)


def _login_page(form: LoginForm, status: int) -> ResponseReturnValue:
    """The sign-in page; with "Sign in with your school account" once a school here has set it up."""
    sso_form = SchoolEmailForm(formdata=None) if schools_with_sso() else None
    return render_template("auth/login.html", form=form, sso_form=sso_form), status


def _signed_in(teacher: Teacher, *, remember: bool, next_url: str | None) -> ResponseReturnValue:
    """Sign the browser in to this account and go on (the caller audited and committed)."""
    two_step.end_pending()
    login_user(TeacherUser(teacher), remember=remember)
    response = make_response(redirect(safe_next(next_url)))
    throttle.remember_device(response, teacher.email)
    return response


@bp.route("/login/code", methods=["GET", "POST"])
@throttle.guarded
def login_code() -> ResponseReturnValue:
    """The second step (auth.two_step): the code from the authenticator app, after the right password."""
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    pending = two_step.pending()
    teacher = db().get(Teacher, pending["id"]) if pending else None
    if pending is None or not two_step.pending_still_valid(pending, teacher) or teacher is None:
        two_step.end_pending()
        flash(CODE_PAGE_EXPIRED, "info")
        return redirect(url_for("auth.login"), 303)
    form = CodeForm()
    if form.validate_on_submit():
        if two_step.accept(teacher, form.code.data):
            audit("login", teacher.id, "two-step")
            db().commit()
            return _signed_in(teacher, remember=bool(pending.get("remember")), next_url=pending.get("next"))
        audit("login_code_refused", teacher.id)
        db().commit()
        form.code.errors = [WRONG_CODE]
        return render_template("auth/code.html", form=form), 401
    return render_template("auth/code.html", form=form), 200 if request.method == "GET" else 400


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
