"""The dashboard's facts: my courses, today's sessions with present counts, recent jobs, in a few queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    Enrollment,
    Job,
    JobKind,
    Student,
    StudentPhoto,
)
from attendance_shared.records import ATTENDED, session_list_sizes, sessions_with_faces_to_confirm, waiting_by_session

from ..extensions import db


@dataclass
class CourseRow:
    course: Course
    students: int
    sessions: int
    #: the owner's name when the course is another teacher's (shared with this one, or seen as the school's admin)
    owner: str | None = None


@dataclass
class TodayRow:
    session: AttendanceSession
    course: Course
    present: int  # attended: present or late (records.ATTENDED)
    students: int
    to_confirm: int = 0  # faces waiting for the teacher's "yes, it is ..."
    waiting: int = 0  # students waiting for that confirmation (records.waiting_by_session): not absent yet
    late: int = 0  # of those present, marked late


@dataclass
class JobRow:
    job: Job
    what: str
    url: str | None


@dataclass
class Dashboard:
    today: dt.date
    courses: list[CourseRow]
    sessions_today: list[TodayRow]
    jobs: list[JobRow]


def _count_by(column, *where) -> dict[int, int]:  # type: ignore[no-untyped-def]
    stmt = select(column, func.count()).where(*where).group_by(column)
    return {key: int(n) for key, n in db().execute(stmt)}


def _job_rows(jobs: list[Job], url_for) -> list[JobRow]:  # type: ignore[no-untyped-def]
    session_ids = [j.subject_id for j in jobs if j.kind == JobKind.ATTENDANCE]
    photo_ids = [j.subject_id for j in jobs if j.kind == JobKind.ENROLLMENT]
    sessions = {
        s.id: (s, c)
        for s, c in db().execute(
            select(AttendanceSession, Course).join(Course).where(AttendanceSession.id.in_(session_ids))
        )
    }
    students = {
        pid: st
        for pid, st in db().execute(
            select(StudentPhoto.id, Student).join(Student).where(StudentPhoto.id.in_(photo_ids))
        )
    }
    rows: list[JobRow] = []
    for job in jobs:
        if job.kind == JobKind.ATTENDANCE and job.subject_id in sessions:
            s, c = sessions[job.subject_id]
            rows.append(JobRow(job, f"Attendance: {c.name}, {s.title}", url_for("sessions.show", session_id=s.id)))
        elif job.kind == JobKind.ENROLLMENT and job.subject_id in students:
            st = students[job.subject_id]
            rows.append(JobRow(job, f"Portrait check: {st.name}", url_for("students.show", student_id=st.id)))
        else:
            rows.append(JobRow(job, f"{job.kind.value.capitalize()} (deleted since)", None))
    return rows


def build_dashboard(teacher_id: int, url_for, today: dt.date | None = None) -> Dashboard:  # type: ignore[no-untyped-def]
    today = today or dt.date.today()
    from ..ownership import visible_courses  # the one rule of who reaches a course

    courses = list(
        db().scalars(
            select(Course)
            .where(visible_courses())
            .options(selectinload(Course.teacher))
            .order_by(Course.teacher_id != teacher_id, Course.name)
        )
    )
    course_ids = [c.id for c in courses]
    students = _count_by(Enrollment.course_id, Enrollment.course_id.in_(course_ids))
    sessions = _count_by(AttendanceSession.course_id, AttendanceSession.course_id.in_(course_ids))
    to_confirm = sessions_with_faces_to_confirm(db(), course_ids)
    # Sessions with faces still to confirm first (any day: a face is never forgotten), most faces first; then today's.
    today_sessions = sorted(
        db().scalars(
            select(AttendanceSession)
            .where(
                AttendanceSession.course_id.in_(course_ids),
                or_(AttendanceSession.date == today, AttendanceSession.id.in_(list(to_confirm))),
            )
            .order_by(AttendanceSession.created_at)
        ),
        key=lambda s: (-to_confirm.get(s.id, 0), s.date != today),
    )
    waiting = waiting_by_session(db(), [s.id for s in today_sessions])
    present = _count_by(
        AttendanceRecord.session_id,
        AttendanceRecord.session_id.in_([s.id for s in today_sessions]),
        AttendanceRecord.status.in_(ATTENDED),
    )
    late = _count_by(
        AttendanceRecord.session_id,
        AttendanceRecord.session_id.in_([s.id for s in today_sessions]),
        AttendanceRecord.status == AttendanceStatus.LATE,
    )
    listed = session_list_sizes(db(), today_sessions)
    by_id = {c.id: c for c in courses}
    jobs = list(db().scalars(select(Job).where(Job.teacher_id == teacher_id).order_by(Job.created_at.desc()).limit(10)))
    return Dashboard(
        today=today,
        courses=[
            CourseRow(
                c, students.get(c.id, 0), sessions.get(c.id, 0), None if c.teacher_id == teacher_id else c.teacher.name
            )
            for c in courses
        ],
        sessions_today=[
            TodayRow(
                s,
                by_id[s.course_id],
                present.get(s.id, 0),
                listed[s.id],
                to_confirm=to_confirm.get(s.id, 0),
                waiting=len(waiting[s.id]),
                late=late.get(s.id, 0),
            )
            for s in today_sessions
        ],
        jobs=_job_rows(jobs, url_for),
    )
