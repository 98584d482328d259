"""Flask-Login's view of a teacher; the shared model stays free of web dependencies."""

from __future__ import annotations

from flask_login import UserMixin, current_user

from attendance_shared.models import Teacher


class TeacherUser(UserMixin):
    def __init__(self, teacher: Teacher) -> None:
        self.teacher = teacher
        self.id = teacher.id
        self.name = teacher.name
        self.email = teacher.email

    def get_id(self) -> str:
        return str(self.id)


def current_teacher_id() -> int:
    """The logged-in teacher's id; every query for owned data filters on it."""
    return int(current_user.id)
