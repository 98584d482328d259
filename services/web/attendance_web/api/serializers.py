"""JSON shapes of the API (described in openapi.py; tests check responses against that description)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from sqlalchemy import func, select

from attendance_shared.models import (
    AttendanceSession,
    Course,
    DetectedFace,
    Job,
    JobKind,
    PhotoStatus,
    SessionPhoto,
    Student,
)
from attendance_web.reports.queries import UNCONFIRMED, SessionLine, session_report

from ..extensions import db
from ..jobs.status import job_status
from ..sessions.classroom_photos import UploadProblem
from ..times import utc_iso


def _iso(moment: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with its 'Z', as OpenAPI's date-time requires (SQLite returns naive UTC datetimes, which a
    script would otherwise read as its own local time)."""
    return utc_iso(moment) if moment else None


def course_json(course: Course, student_count: int, session_count: int) -> dict[str, Any]:
    return {
        "id": course.id,
        "name": course.name,
        "code": course.code,
        "student_count": student_count,
        "session_count": session_count,
        "created_at": _iso(course.created_at),
    }


def student_json(student: Student) -> dict[str, Any]:
    return {
        "id": student.id,
        "name": student.name,
        "student_number": student.student_number,
        "email": student.email,
        "accepted_photos": sum(1 for p in student.photos if p.status == PhotoStatus.ACCEPTED),
    }


def session_summary_json(session: AttendanceSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "course_id": session.course_id,
        "date": session.date.isoformat(),
        "label": session.label,
        "photo_count": len(session.photos),
        "created_at": _iso(session.created_at),
        "url": url_for("api.session", session_id=session.id),
    }


def job_json(job: Job) -> dict[str, Any]:
    is_attendance = job.kind == JobKind.ATTENDANCE
    return {
        **job_status(job),
        "session_id": job.subject_id if is_attendance else None,
        "session_url": url_for("api.session", session_id=job.subject_id) if is_attendance else None,
    }


def problem_json(problem: UploadProblem) -> dict[str, Any]:
    return {"code": problem.code, "file": problem.filename, "message": problem.message}


def session_detail_json(session: AttendanceSession) -> dict[str, Any]:
    """The session's result as the review page sees it: every student on the roster (and anyone with a
    mark who has since left the course), and the faces found."""
    report = session_report(db(), session)
    matched, total = _face_totals(session.id)
    return {
        **session_summary_json(session),
        "photos": [
            {"id": p.id, "status": p.status.value, "error": p.error, "face_count": p.face_count} for p in session.photos
        ],
        "records": [_record_json(line, session.id) for line in report.lines],
        "faces": {
            "total": total,
            "matched": matched,
            "to_confirm": report.faces_to_confirm,
            "unknown": len(report.unknown_faces),
        },
        "unknown_count": len(report.unknown_faces),
    }


def _face_totals(session_id: int) -> tuple[int, int]:
    """(faces attributed to a student, all faces) of the session, in one query."""
    row = (
        db()
        .execute(
            select(func.count(DetectedFace.student_id), func.count(DetectedFace.id))
            .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
            .where(SessionPhoto.session_id == session_id)
        )
        .one()
    )
    return int(row[0]), int(row[1])


def _record_json(line: SessionLine, session_id: int) -> dict[str, Any]:
    return {
        "student_id": line.student.id,
        "name": line.student.name,
        "student_number": line.student.student_number,
        "enrolled": line.enrolled,
        "status": UNCONFIRMED if line.unconfirmed else (line.status.value if line.status else None),
        "source": line.source.value if line.source else None,
        "similarity": line.similarity,
        "confirm_url": confirm_url(session_id, line.waiting_face) if line.waiting_face else None,
        "decided_by": line.decision.by.value if line.decision else None,
        "decision": line.decision.action if line.decision else None,
        "decided_at": _iso(line.decision.at) if line.decision else None,
    }


def confirm_url(session_id: int, face_id: int) -> str:
    """The review page at the face waiting for the teacher's "yes, it is ..." (absolute: an API client opens it)."""
    return url_for("sessions.show", session_id=session_id, _external=True) + f"#confirm-{face_id}"
