"""The JSON API routes. Every id goes through ownership.py: another teacher's ids answer 404."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Response, abort, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import Select, func, select

from attendance_shared.models import AttendanceSession, Course, Enrollment, School

from ..extensions import db
from ..ids import parse_id
from ..ownership import managed_student, owned_course, owned_job, owned_session, visible_courses
from ..reports.school import DEFAULT_CHRONIC_PCT
from ..sessions.classroom_photos import StoreUnavailable, check_each, session_for, store_photos
from ..sis_import.forms import MAX_EXPORT_DAYS
from ..sis_import.views import attendance_csv
from ..students.subject_access import export_response
from . import bp
from .errors import ApiError
from .openapi import openapi_spec
from .reports import course_report, school_report_json
from .serializers import (
    course_json,
    job_json,
    problem_json,
    session_detail_json,
    session_summary_json,
    student_json,
)

MAX_LABEL = 80


def _json(body: dict[str, Any], status: int = 200) -> Response:
    """API answers hold pupils' data: never stored by a cache."""
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


# RFC 3339's full-date, as the document's `format: date` says: `date.fromisoformat` alone also took ISO's basic
# (20261201) and week (2026-W49-2) forms, which no client was told about.
FULL_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_arg(value: str | None, field: str, *, required: bool = False) -> dt.date | None:
    """The date in a form or query field; empty is the same as left out (documented in openapi.py)."""
    if not value:
        if required:
            raise ApiError(400, "invalid_date", f"'{field}' is required, as YYYY-MM-DD.")
        return None
    try:
        if not FULL_DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ApiError(400, "invalid_date", f"'{field}' must be a date as YYYY-MM-DD.") from None


@bp.route("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_spec())


def _courses_with_counts() -> Select[Course, int, int]:
    """This teacher's courses, each with its student and session counts, in one query."""
    students = select(func.count()).select_from(Enrollment).where(Enrollment.course_id == Course.id).scalar_subquery()
    sessions = (
        select(func.count())
        .select_from(AttendanceSession)
        .where(AttendanceSession.course_id == Course.id)
        .scalar_subquery()
    )
    return select(Course, students, sessions).where(visible_courses())


@bp.route("/courses")
def courses() -> ResponseReturnValue:
    rows = db().execute(_courses_with_counts().order_by(Course.name))
    return _json({"courses": [course_json(c, n_students, n_sessions) for c, n_students, n_sessions in rows]})


@bp.route("/courses/<int:course_id>", endpoint="course")
def course_detail(course_id: int) -> ResponseReturnValue:
    row = db().execute(_courses_with_counts().where(Course.id == course_id)).one_or_none()
    if row is None:
        abort(404)  # another teacher's course too: the same answer as ownership.py's
    course, n_students, n_sessions = row
    return _json(course_json(course, n_students, n_sessions))


@bp.route("/courses/<int:course_id>/students")
def course_students(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    return _json({"course_id": course.id, "students": [student_json(s) for s in course.students]})


@bp.route("/students/<int:student_id>/export", endpoint="student_export")
def student_export(student_id: int) -> ResponseReturnValue:
    """The subject-access export (attendance_web.students.subject_access), as the student's page offers it."""
    return export_response(managed_student(student_id))


@bp.route("/courses/<int:course_id>/sessions")
def course_sessions(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    return _json({"course_id": course.id, "sessions": [session_summary_json(s) for s in course.sessions]})


def _target_session(course_id: int, value: str) -> AttendanceSession:
    """The session a client names to add photos to: one of this course's, else 404."""
    session_id = parse_id(value)
    if session_id is None:
        raise ApiError(400, "invalid_session_id", "'session_id' must be the id of one of this course's sessions.")
    session = owned_session(session_id)
    if session.course_id != course_id:
        raise ApiError(404, "not_found", "This course has no session with that id.")
    return session


@bp.route("/courses/<int:course_id>/sessions", methods=["POST"])
def create_session(course_id: int) -> ResponseReturnValue:
    """Store the photos and enqueue recognition; answer 202 with the job to poll.

    The session is the one with this date and label (made when missing), as in v1, or the one `session_id`
    names. (The browser's form makes a new session each time instead: a person forgets the label; a script
    names its lesson.)"""
    course = owned_course(course_id)
    target_id = request.form.get("session_id", "").strip()
    target = _target_session(course.id, target_id) if target_id else None
    date = _date_arg(request.form.get("date"), "date", required=target is None)
    label = request.form.get("label", "").strip()
    if len(label) > MAX_LABEL:
        raise ApiError(400, "invalid_label", f"'label' must be at most {MAX_LABEL} characters.")
    # "photos[]" too: PHP clients (Moodle plugins, for one) name repeated file fields that way.
    files = request.files.getlist("photos") + request.files.getlist("photos[]")
    uploads = [u for u in files if u and u.filename]
    if not uploads:
        raise ApiError(400, "photos_required", "Send at least one classroom photo in the 'photos' field.")
    good, problems = check_each(uploads)
    if not good:
        raise ApiError(
            422,
            "no_usable_photos",
            "None of the photos could be used; see details.",
            [problem_json(p) for p in problems],
        )
    fresh = False
    if target is None:
        assert date is not None
        target, fresh = session_for(course.id, date, label)
    try:
        intake = store_photos(course.teacher_id, target, good, fresh=fresh)
    except StoreUnavailable:
        raise ApiError(
            503, "storage_unavailable", "The photo store is not answering; nothing was saved. Try again in a minute."
        ) from None
    errors = [problem_json(p) for p in problems + intake.duplicate_problems()]
    job, session, queued = intake.job, intake.session, intake.published
    if job is None:
        raise ApiError(409, "already_uploaded", "These photos were already uploaded to this session.", errors)
    message = (
        "Recognition has been queued."
        if queued
        else "The photos are saved; recognition will start as soon as the worker is reachable."
    )

    body = {
        "session": session_summary_json(session),
        "job": job_json(job),
        "poll_url": url_for("api.job", job_id=job.id),
        "errors": errors,
        "message": message,
    }
    response = _json(body, 202)
    response.headers["Location"] = body["poll_url"]
    return response


@bp.route("/jobs/<job_id>")
def job(job_id: str) -> ResponseReturnValue:
    return _json(job_json(owned_job(job_id)))


@bp.route("/sessions/<int:session_id>", endpoint="session")
def session_detail(session_id: int) -> ResponseReturnValue:
    return _json(session_detail_json(owned_session(session_id)))


@bp.route("/courses/<int:course_id>/report", endpoint="course_report")
def course_report_view(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    start, end = _date_range()
    return _json(course_report(course, start, end))


def _date_range() -> tuple[dt.date | None, dt.date | None]:
    start = _date_arg(request.args.get("from"), "from")
    end = _date_arg(request.args.get("to"), "to")
    if start and end and start > end:
        raise ApiError(400, "invalid_date_range", "'from' must not be after 'to'.")
    return start, end


@bp.route("/school/report", endpoint="school_report")
def school_report_view() -> ResponseReturnValue:
    """The school's admin only: anyone else's token gets 404, as the School page answers them."""
    if not getattr(current_user, "is_admin", False):
        abort(404)
    start, end = _date_range()
    raw = request.args.get("threshold", "")
    if raw and not (raw.isascii() and raw.isdigit() and int(raw) <= 100):
        raise ApiError(400, "invalid_threshold", "'threshold' must be a whole percentage from 0 to 100.")
    pct = int(raw) if raw else DEFAULT_CHRONIC_PCT
    school = current_user.school_id
    name = db().scalar(select(School.name).where(School.id == school)) or ""
    return _json(school_report_json(school, name, start, end, pct))


@bp.route("/school/attendance.csv", endpoint="school_attendance_csv")
def school_attendance_csv() -> ResponseReturnValue:
    """Attendance for the SIS (sis_import.export): the school's admin only, both days required."""
    if not getattr(current_user, "is_admin", False):
        abort(404)
    start = _date_arg(request.args.get("from"), "from", required=True)
    end = _date_arg(request.args.get("to"), "to", required=True)
    assert start is not None and end is not None
    if start > end:
        raise ApiError(400, "invalid_date_range", "'from' must not be after 'to'.")
    if (end - start).days > MAX_EXPORT_DAYS:
        raise ApiError(400, "invalid_date_range", f"Export at most {MAX_EXPORT_DAYS} days at a time.")
    return attendance_csv(current_user.school_id, start, end)
