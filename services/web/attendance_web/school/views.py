"""The school page (admins only: teachers, invitations, disabling, reset links) and the pages a link opens.

A new link is shown once, in the answer to the POST that made it, like a new API token: it is never put in the
session cookie, which is signed but readable. It is e-mailed too when SMTP_URL is set.
"""

from __future__ import annotations

import smtplib

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from attendance_shared.models import AccountLink, AccountLinkKind, Course, Teacher, TeacherRole, utcnow

from .. import ownership  # a module, not its names: ownership imports auth, which reaches this package
from ..audit import audit
from ..auth.user import end_every_session
from ..extensions import db, limiter
from . import bp, links, mail
from .accounts import SchoolRuleRefused, may_sign_up, set_disabled
from .forms import InviteForm, JoinForm, NewPasswordForm

LINK_GONE = (
    "This link does not work any more: it was used already, it expired, or a newer one replaced it. "
    "Ask your school's admin for a new one."
)


def _school_teacher(admin: Teacher, teacher_id: int) -> Teacher:
    teacher = db().scalar(select(Teacher).where(Teacher.id == teacher_id, Teacher.school_id == admin.school_id))
    if teacher is None:
        abort(404)
    return teacher


def _page(admin: Teacher, status: int = 200, **extra: object) -> ResponseReturnValue:
    counts = dict(
        db()
        .execute(
            select(Course.teacher_id, func.count())
            .join(Teacher)
            .where(Teacher.school_id == admin.school_id)
            .group_by(Course.teacher_id)
        )
        .all()
    )
    teachers = list(db().scalars(select(Teacher).where(Teacher.school_id == admin.school_id).order_by(Teacher.name)))
    return render_template(
        "school/admin.html",
        school=admin.school,
        me=admin,
        teachers=teachers,
        course_counts=counts,
        invitations=links.open_invitations(admin.school_id),
        invite_form=extra.pop("invite_form", None) or InviteForm(),
        **extra,
    ), status


def _mailed(to: str, subject: str, body: str) -> str | None:
    """How the link travelled, in words, or None when no SMTP server is set up."""
    try:
        sent = mail.send(to, subject, body)
    except (OSError, ValueError, smtplib.SMTPException):  # ValueError: an address the message cannot carry
        return f"The e-mail to {to} could not be sent (the mail server did not accept it): copy the link below."
    return f"It was also e-mailed to {to}." if sent else None


@bp.route("/school")
@login_required
def admin() -> ResponseReturnValue:
    return _page(ownership.school_admin())


@bp.route("/school/invitations", methods=["POST"])
@login_required
def invite() -> ResponseReturnValue:
    admin = ownership.school_admin()
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(admin, 400, invite_form=form)
    email = form.email.data.strip().lower()
    if db().scalar(select(Teacher.id).where(Teacher.email == email)) is not None:
        form.email.errors = [f"{email} already has an account, so it cannot be invited again."]
        return _page(admin, 400, invite_form=form)
    token = links.invite(school_id=admin.school_id, email=email, role=TeacherRole(form.role.data), by=admin.id)
    audit("invitation_created", admin.id, f"email={email} role={form.role.data}")
    db().commit()
    link = links.url(token, AccountLinkKind.INVITATION)
    body = (
        f"{admin.name} invites you to take attendance at {admin.school.name}.\n\n"
        f"Open this link within 7 days to create your account:\n{link}\n\n"
        "It works once. If you did not expect this e-mail, ignore it."
    )
    mailed = _mailed(email, f"Your account at {admin.school.name}", body)
    return _page(admin, 201, new_link=link, new_link_for=email, new_link_kind="invitation", mailed=mailed)


@bp.route("/school/invitations/<int:link_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(link_id: int) -> ResponseReturnValue:
    admin = ownership.school_admin()
    link = db().scalar(
        select(AccountLink).where(
            AccountLink.id == link_id,
            AccountLink.school_id == admin.school_id,
            AccountLink.kind == AccountLinkKind.INVITATION,
        )
    )
    if link is None:
        abort(404)
    if link.revoked_at is None and link.used_at is None:
        link.revoked_at = utcnow()
        audit("invitation_revoked", admin.id, f"email={link.email}")
        db().commit()
    flash(f"The invitation for {link.email} no longer works.", "success")
    return redirect(url_for("school.admin"), 303)


@bp.route("/school/teachers/<int:teacher_id>/disable", methods=["POST"])
@login_required
def disable(teacher_id: int) -> ResponseReturnValue:
    return _set_disabled(teacher_id, True)


@bp.route("/school/teachers/<int:teacher_id>/enable", methods=["POST"])
@login_required
def enable(teacher_id: int) -> ResponseReturnValue:
    return _set_disabled(teacher_id, False)


def _set_disabled(teacher_id: int, disabled: bool) -> ResponseReturnValue:
    admin = ownership.school_admin()
    teacher = _school_teacher(admin, teacher_id)
    try:
        changed = set_disabled(teacher, disabled)
    except SchoolRuleRefused as refused:
        flash(str(refused), "error")
        return redirect(url_for("school.admin"), 303)
    if changed:
        audit("disabled_by_admin" if disabled else "enabled_by_admin", teacher.id, f"by={admin.id}")
        db().commit()
    if disabled:
        flash(
            f"{teacher.name} is disabled: signed out everywhere, their API tokens stopped. Their courses stay.",
            "success",
        )
    else:
        flash(f"{teacher.name} can sign in again.", "success")
    return redirect(url_for("school.admin"), 303)


@bp.route("/school/teachers/<int:teacher_id>/reset-link", methods=["POST"])
@login_required
def reset_link(teacher_id: int) -> ResponseReturnValue:
    admin = ownership.school_admin()
    teacher = _school_teacher(admin, teacher_id)
    token = links.password_reset(teacher, by=admin.id)
    audit("password_reset_link_created", teacher.id, f"by={admin.id}")
    db().commit()
    link = links.url(token, AccountLinkKind.PASSWORD_RESET)
    body = (
        f"{admin.name} made you a link to choose a new password for Student Attendance.\n\n"
        f"Open it within 24 hours:\n{link}\n\nIt works once."
    )
    mailed = _mailed(teacher.email, "Choose a new password", body)
    return _page(admin, 201, new_link=link, new_link_for=teacher.email, new_link_kind="reset", mailed=mailed)


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def join(token: str) -> ResponseReturnValue:
    """Accept an invitation: the address is the invitation's, the teacher chooses a name and a password."""
    if current_user.is_authenticated:
        flash("You are signed in already. Log out first to accept an invitation for another account.", "error")
        return redirect(url_for("courses.dashboard"))
    link = links.open_link(token, AccountLinkKind.INVITATION)
    if link is None:
        return render_template("school/link_gone.html", message=LINK_GONE), 404
    form = JoinForm()
    if form.validate_on_submit():
        teacher = Teacher(
            school_id=link.school_id,
            role=link.role,
            email=link.email,
            name=form.name.data.strip(),
            password_hash=generate_password_hash(form.password.data),
        )
        link.used_at = utcnow()
        db().add(teacher)
        try:
            db().flush()
        except IntegrityError:  # the address got an account since the invitation was made
            db().rollback()
            return render_template("school/link_gone.html", message=LINK_GONE), 409
        audit("invitation_accepted", teacher.id, f"invited_by={link.created_by_id}")
        db().commit()
        flash("Your account is ready: sign in with your email and the password you just chose.", "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("school/join.html", form=form, link=link), 200 if request.method == "GET" else 400


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def reset_password(token: str) -> ResponseReturnValue:
    link = links.open_link(token, AccountLinkKind.PASSWORD_RESET)
    teacher = db().get(Teacher, link.teacher_id) if link is not None and link.teacher_id else None
    if link is None or teacher is None:
        return render_template("school/link_gone.html", message=LINK_GONE), 404
    form = NewPasswordForm()
    if form.validate_on_submit():
        if not links.consume(link):
            db().rollback()
            return render_template("school/link_gone.html", message=LINK_GONE), 404
        teacher.password_hash = generate_password_hash(form.password.data)
        end_every_session(teacher)
        audit("password_reset_by_link", teacher.id, f"link_by={link.created_by_id}")
        db().commit()
        flash("Your new password is set, and every browser signed in to your account was signed out.", "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("school/reset.html", form=form, teacher=teacher), 200 if request.method == "GET" else 400


@bp.app_context_processor
def _signup_open() -> dict[str, object]:
    """Pages offer "Sign up" only where the sign-up page creates accounts."""
    return {"signup_open": may_sign_up}
