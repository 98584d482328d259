"""Flask-Login's view of a teacher, and how a session cookie finds it; the shared model stays free of web
dependencies.

Sessions end on the server: the id in the session and remember-me cookies (TeacherUser.get_id) carries the
teacher's session epoch, the time of sign-in and a fingerprint of the password hash. The user loader accepts it
only while the epoch is the teacher's current one, the sign-in is at most MAX_SIGNED_IN old and the account is
not disabled. Log-out, "sign out everywhere", a new password and disabling the account add one to the epoch
(end_every_session), so every copy of every cookie of that account stops working at once."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import UserMixin, login_url

from attendance_shared.models import Teacher

from ..config import MAX_SIGNED_IN
from ..extensions import db, login_manager
from ..signed_in import current_teacher_id


class TeacherUser(UserMixin):
    def __init__(self, teacher: Teacher, signed_in_at: int | None = None) -> None:
        self.teacher = teacher
        self.id = teacher.id
        self.name = teacher.name
        self.email = teacher.email
        self.is_admin = teacher.is_admin
        self.school_id = teacher.school_id
        self.has_two_step = teacher.totp_secret is not None
        #: Unix time of the sign-in this session belongs to (now, for a new sign-in)
        self.signed_in_at = int(time.time()) if signed_in_at is None else signed_in_at

    def get_id(self) -> str:
        """ "<id>:<epoch>:<signed in at>:<password fingerprint>" (see the module's docstring)."""
        return f"{self.id}:{self.teacher.session_epoch or 0}:{self.signed_in_at}:{password_fingerprint(self.teacher)}"


def password_fingerprint(teacher: Teacher) -> str:
    return hashlib.sha256(teacher.password_hash.encode()).hexdigest()[:16]


def login_id_matches(teacher: Teacher, epoch: str, fingerprint: str) -> bool:
    """True when a cookie's epoch is the teacher's current one and its fingerprint matches their password."""
    return hmac.compare_digest(epoch, str(teacher.session_epoch or 0)) and hmac.compare_digest(
        fingerprint, password_fingerprint(teacher)
    )


def end_every_session(teacher: Teacher) -> None:
    """Every session and remember-me cookie of this teacher stops working (the caller commits)."""
    teacher.session_epoch = (teacher.session_epoch or 0) + 1


def _still_signed_in(signed_in_at: int) -> bool:
    return 0 <= time.time() - signed_in_at <= MAX_SIGNED_IN.total_seconds()


@login_manager.user_loader
def load_teacher(user_id: str) -> TeacherUser | None:
    """The teacher of a session or remember-me cookie's id (get_id); None, which signs that browser out, once the
    session was ended on the server, is too old, or the account is disabled."""
    parts = user_id.split(":")
    if len(parts) != 4 or not all(p.isascii() and p.isdigit() for p in parts[:3]):
        return None
    raw_id, epoch, signed_in_at, fingerprint = parts
    if len(raw_id) > 18 or len(signed_in_at) > 12 or not _still_signed_in(int(signed_in_at)):
        return None
    teacher = db().get(Teacher, int(raw_id))
    if teacher is None or teacher.disabled_at is not None or not login_id_matches(teacher, epoch, fingerprint):
        return None
    return TeacherUser(teacher, int(signed_in_at))


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


def safe_next(target: str | None) -> str:
    """Where a sign-in goes next: a path on this site, else the dashboard."""
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("courses.dashboard")


__all__ = ["current_teacher_id"]  # its home is signed_in.py; imported from here by the features
