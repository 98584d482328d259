"""Settings → Two-step sign-in: turn it on (a new secret, confirmed with a current code) or off (password and a
code). How it works: attendance_web.auth.two_step."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.security import check_password_hash

from attendance_shared.models import Teacher

from ..audit import audit
from ..auth import two_step
from ..auth.user import current_teacher_id
from ..extensions import db, limiter
from ..extensions import settings as app_settings
from ..sealed import seal, unseal
from . import bp
from .forms import TwoStepConfirmForm, TwoStepOffForm

WRONG_CODE = "That code is not right. Type the 6 digits your app shows now; a new code appears every 30 seconds."


def _teacher() -> Teacher:
    teacher = db().get(Teacher, current_teacher_id())
    if teacher is None:
        abort(404)
    return teacher


def _account_key() -> str:
    return f"two-step:{current_teacher_id()}"


def _setup_secret() -> str:
    """The secret being set up in this session (a new one the first time), kept sealed in the session."""
    secret = unseal(session.get(two_step.SETUP_KEY))
    if secret is None:
        secret = two_step.new_secret()
        session[two_step.SETUP_KEY] = seal(secret)
    return secret


def _setup_page(teacher: Teacher, form: TwoStepConfirmForm | None = None, status: int = 200) -> ResponseReturnValue:
    secret = _setup_secret()
    page = render_template(
        "account/two_step.html",
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        uri=two_step.otpauth_uri(secret, teacher.email),
        form=form or TwoStepConfirmForm(formdata=None),
        required=teacher.is_admin and two_step.required_for_admins(),
    )
    return page, status, {"Cache-Control": "no-store"}  # the page shows a secret


@bp.route("/settings/two-step", endpoint="two_step")
@login_required
def two_step_setup() -> ResponseReturnValue:
    teacher = _teacher()
    if two_step.is_on(teacher):
        return redirect(url_for("account.settings") + "#two-step-heading")
    return _setup_page(teacher)


@bp.route("/settings/two-step", methods=["POST"])
@login_required
@limiter.limit(lambda: app_settings().login_limit_per_account, key_func=_account_key)
def two_step_confirm() -> ResponseReturnValue:
    teacher = _teacher()
    if two_step.is_on(teacher):
        return redirect(url_for("account.settings"), 303)
    form = TwoStepConfirmForm()
    if not form.validate_on_submit():
        return _setup_page(teacher, form, 400)
    secret = _setup_secret()
    step = two_step.code_step(secret, form.code.data)
    if step is None:
        form.code.errors = [WRONG_CODE]
        return _setup_page(teacher, form, 400)
    two_step.turn_on(teacher, secret, step)
    session.pop(two_step.SETUP_KEY, None)
    audit("two_step_on", teacher.id)
    db().commit()
    flash("Two-step sign-in is on: from now on, signing in asks for a code from your app.", "success")
    return redirect(url_for("account.settings"), 303)


@bp.route("/settings/two-step/off", methods=["POST"])
@login_required
@limiter.limit(lambda: app_settings().login_limit_per_account, key_func=_account_key)
def two_step_off() -> ResponseReturnValue:
    teacher = _teacher()
    form = TwoStepOffForm()
    if not two_step.is_on(teacher):
        return redirect(url_for("account.settings"), 303)
    if not form.validate_on_submit():
        flash("Enter your password and a code from your app to turn two-step sign-in off.", "error")
        return redirect(url_for("account.settings") + "#two-step-heading", 303)
    if not check_password_hash(teacher.password_hash, form.password.data) or not two_step.accept(
        teacher, form.code.data
    ):
        audit("two_step_off_refused", teacher.id)
        db().commit()
        flash("Two-step sign-in stays on: the password or the code is not right.", "error")
        return redirect(url_for("account.settings") + "#two-step-heading", 303)
    two_step.turn_off(teacher)
    audit("two_step_off", teacher.id)
    db().commit()
    flash("Two-step sign-in is off: signing in asks for your password only.", "success")
    return redirect(url_for("account.settings"), 303)
