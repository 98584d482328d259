"""The course report for the API, from the shared reporting module (one rate definition everywhere)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from attendance_shared.models import Course
from attendance_web.reports.queries import DateRange, StudentRow, course_matrix

from ..extensions import db


def course_report(course: Course, start: dt.date | None, end: dt.date | None) -> dict[str, Any]:
    matrix = course_matrix(db(), course, DateRange(start, end))
    return {
        "course": {"id": course.id, "name": course.name, "code": course.code},
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "sessions": [{"id": s.id, "date": s.date.isoformat(), "label": s.label} for s in matrix.sessions],
        "students": [_student_row(row) for row in matrix.rows],
    }


def _student_row(row: StudentRow) -> dict[str, Any]:
    return {
        "id": row.student.id,
        "name": row.student.name,
        "student_number": row.student.student_number,
        "enrolled": row.enrolled,
        "present": row.tally.present,
        "late": row.tally.late,
        "absent": row.tally.absent,
        "excused": row.tally.excused,
        "not_taken": row.tally.not_recorded,
        "unconfirmed": row.tally.unconfirmed,
        "rate": round(row.rate, 4) if row.rate is not None else None,
        "attendance": [str(mark) if mark else None for mark in row.mark_codes()],
    }
