"""Attendance for the SIS: one row per student, class and date, keyed by OneRoster sourcedIds.

Only courses and students imported from the SIS have sourcedIds; the rest is left out (the page says so). A day
with several sessions of one class gives one row per session, in session order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance_shared.models import AttendanceRecord, AttendanceSession, Course, Student, Teacher


def attendance_rows(session: Session, school_id: int, start: dt.date, end: dt.date) -> Iterator[tuple[str, ...]]:
    stmt = (
        select(Course.sourced_id, Student.sourced_id, AttendanceSession.date, AttendanceRecord.status)
        .join(AttendanceSession, AttendanceRecord.session_id == AttendanceSession.id)
        .join(Course, AttendanceSession.course_id == Course.id)
        .join(Teacher, Course.teacher_id == Teacher.id)
        .join(Student, AttendanceRecord.student_id == Student.id)
        .where(
            Teacher.school_id == school_id,
            Course.sourced_id.is_not(None),
            Student.sourced_id.is_not(None),
            AttendanceSession.date >= start,
            AttendanceSession.date <= end,
        )
        .order_by(AttendanceSession.date, Course.sourced_id, AttendanceSession.id, Student.sourced_id)
    )
    for class_sid, user_sid, day, status in session.execute(stmt).yield_per(2000):
        yield str(class_sid), str(user_sid), day.isoformat(), str(status)
