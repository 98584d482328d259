from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from attendance_shared.models import Teacher

from ..audit import audit
from ..extensions import db, limiter, settings
from . import bp
from .forms import LoginForm, SignupForm
from .user import TeacherUser

# Compared against when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def _safe_next(target: str | None) -> str:
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("courses.dashboard")


def _login_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254] or (request.remote_addr or "")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(lambda: settings().signup_limit_per_address, methods=["POST"])
def signup() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    form = SignupForm()
    if form.validate_on_submit():
        teacher = Teacher(
            name=form.name.data.strip(),
            email=form.email.data.strip().lower(),
            password_hash=generate_password_hash(form.password.data),
        )
        session = db()
        session.add(teacher)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            form.email.errors.append("An account with this email already exists. Log in instead?")
        else:
            audit("signup", teacher.id)
            session.commit()
            login_user(TeacherUser(teacher))
            flash("Welcome! Start by creating your first course.", "success")
            return redirect(url_for("courses.dashboard"))
    return render_template("auth/signup.html", form=form), 200 if request.method == "GET" else 400


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: settings().login_limit_per_address, methods=["POST"])
@limiter.limit(lambda: settings().login_limit_per_account, methods=["POST"], key_func=_login_email)
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("courses.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        teacher = db().scalar(select(Teacher).where(Teacher.email == email))
        ok = check_password_hash(teacher.password_hash if teacher else _DUMMY_HASH, form.password.data)
        if teacher and ok:
            audit("login", teacher.id)
            db().commit()
            login_user(TeacherUser(teacher), remember=bool(form.remember.data))
            return redirect(_safe_next(request.args.get("next")))
        audit("login_failed", teacher.id if teacher else None, f"email={email}")
        db().commit()
        flash("That email and password do not match an account.", "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    audit("logout", int(current_user.id))
    db().commit()
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login"))
