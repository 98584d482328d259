"""Accounts and their school: who may sign up, the first admin, disabling a teacher.

Sign-up is open (each new account opens a school of its own, as before schools) or by invitation only
(SIGNUP=invite, production's default); the very first account of an installation always opens its school,
so a fresh installation can be set up at all.
"""

from __future__ import annotations

from sqlalchemy import func, select

from attendance_shared.models import School, Teacher, TeacherRole, utcnow

from ..auth.user import end_every_session
from ..extensions import db, settings


class SchoolRuleRefused(ValueError):
    """What the admin asked would break a rule of the school; `str` is the sentence to show."""


def installation_is_new() -> bool:
    return db().scalar(select(func.count()).select_from(School)) == 0


def may_sign_up() -> bool:
    """Whether the sign-up page creates accounts here (otherwise only an invitation does)."""
    return settings().signup_mode == "open" or installation_is_new()


def open_school(*, name: str, email: str, password_hash: str, school_name: str | None) -> Teacher:
    """A new school with its first account, its admin (added to the session; the caller commits)."""
    school = School(name=(school_name or f"{name}'s school").strip()[:120])
    teacher = Teacher(name=name, email=email, password_hash=password_hash, school=school, role=TeacherRole.ADMIN)
    db().add(teacher)
    return teacher


def school_admins(school_id: int) -> int:
    stmt = select(func.count()).where(
        Teacher.school_id == school_id, Teacher.role == TeacherRole.ADMIN, Teacher.disabled_at.is_(None)
    )
    return int(db().scalar(stmt) or 0)


def set_disabled(teacher: Teacher, disabled: bool, *, keep_an_admin: bool = True) -> bool:
    """Disable (no sign-in, every session and API token stops at once) or enable again; False when nothing changed.
    A school keeps at least one enabled admin, unless IT overrides it from the command line (keep_an_admin)."""
    if disabled == (teacher.disabled_at is not None):
        return False
    if disabled:
        if keep_an_admin and teacher.role is TeacherRole.ADMIN and school_admins(teacher.school_id) <= 1:
            raise SchoolRuleRefused(
                f"{teacher.name} is the school's only admin: make another teacher an admin first, "
                "or the school could not be managed any more."
            )
        teacher.disabled_at = utcnow()
        end_every_session(teacher)
    else:
        teacher.disabled_at = None
    return True
