"""Flask-Login's view of a teacher, and how a session cookie finds it; the shared model stays free of web
dependencies."""

from __future__ import annotations

import hashlib
import hmac

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, current_user, login_url

from attendance_shared.models import Teacher

from ..extensions import db, login_manager


class TeacherUser(UserMixin):
    def __init__(self, teacher: Teacher) -> None:
        self.teacher = teacher
        self.id = teacher.id
        self.name = teacher.name
        self.email = teacher.email

    def get_id(self) -> str:
        """The id in the session and remember-me cookies carries a fingerprint of the password hash: a new
        password (Settings, or the administrator's reset) signs out every other browser."""
        return f"{self.id}:{password_fingerprint(self.teacher)}"


def password_fingerprint(teacher: Teacher) -> str:
    return hashlib.sha256(teacher.password_hash.encode()).hexdigest()[:16]


def login_id_matches(teacher: Teacher, fingerprint: str) -> bool:
    """True when a cookie's fingerprint still matches the teacher's password."""
    return hmac.compare_digest(fingerprint, password_fingerprint(teacher))


@login_manager.user_loader
def load_teacher(user_id: str) -> TeacherUser | None:
    """The teacher of a session or remember-me cookie's id ("<id>:<fingerprint>", get_id); None once the password
    changed, which signs that browser out."""
    raw_id, _, fingerprint = user_id.partition(":")
    teacher = db().get(Teacher, int(raw_id)) if raw_id.isdigit() else None
    return TeacherUser(teacher) if teacher is not None and login_id_matches(teacher, fingerprint) else None


# The home page is where a first visit lands: sending it to the log-in page is no mistake of the visitor's.
PAGES_WITHOUT_LOGIN_NOTICE = frozenset({"courses.dashboard"})


@login_manager.unauthorized_handler
def ask_to_log_in() -> ResponseReturnValue:
    """To the log-in page, then back. A first visit of / goes there quietly; any other page says why, as a notice
    rather than an error."""
    if request.endpoint in PAGES_WITHOUT_LOGIN_NOTICE:
        return redirect(url_for("auth.login"))
    flash(login_manager.login_message, "info")
    return redirect(login_url("auth.login", next_url=request.url))


def current_teacher_id() -> int:
    """The logged-in teacher's id; every query for owned data filters on it."""
    return int(current_user.id)
