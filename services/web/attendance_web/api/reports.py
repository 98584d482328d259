"""The course report and the school report for the API, from the shared reporting module (one rate everywhere)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from attendance_shared.models import Course
from attendance_web.reports.queries import DateRange, StudentRow, Tally, course_matrix
from attendance_web.reports.school import school_report

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


def school_report_json(
    school_id: int, school_name: str, start: dt.date | None, end: dt.date | None, pct: int
) -> dict[str, Any]:
    """reports.school's figures: each course counted by the course report's own query."""
    report = school_report(db(), school_id, school_name, DateRange(start, end), pct / 100)
    return {
        "school": {"id": school_id, "name": school_name},
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "threshold_pct": pct,
        "overall": _tally(report.tally),
        "courses": [
            {"id": c.course_id, "name": c.name, "teacher": c.owner, "sessions": c.sessions, "students": c.students,
             **_tally(c.tally)}
            for c in report.courses
        ],
        "chronic_absence": [
            {"id": a.student.id, "name": a.student.name, "student_number": a.student.student_number,
             "teacher": a.owner, "courses": list(a.courses), "counted": a.counted, **_tally(a.tally),
             "missed": round(a.missed, 4) if a.missed is not None else None}
            for a in report.chronic
        ],
    }  # fmt: skip


def _tally(t: Tally) -> dict[str, Any]:
    return {
        "present": t.present,
        "late": t.late,
        "absent": t.absent,
        "excused": t.excused,
        "rate": round(t.rate, 4) if t.rate is not None else None,
    }
