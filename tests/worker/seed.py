"""Seed a teacher, a course, enrolled students and a session directly in the database (no web, no broker)."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceSession,
    Course,
    Enrollment,
    Job,
    JobKind,
    SessionPhoto,
    Student,
    StudentPhoto,
    Teacher,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store


def seed_course(students: dict[str, list[Path]], classroom: list[tuple[str, bytes]]) -> dict:
    """students: name -> portrait paths; classroom: (filename, bytes). Returns ids."""
    settings = get_settings()
    store = make_store(settings)
    with session_scope(settings.sqlalchemy_url) as s:
        t = Teacher(email=f"{uuid.uuid4().hex[:8]}@school.example.org", name="T", password_hash="x")
        s.add(t)
        s.flush()
        course = Course(teacher_id=t.id, name=f"Course {uuid.uuid4().hex[:6]}")
        s.add(course)
        s.flush()
        ids: dict = {"teacher": t.id, "course": course.id, "students": {}}
        for name, portraits in students.items():
            st = Student(teacher_id=t.id, name=name.replace("_", " "), student_number=name)
            s.add(st)
            s.flush()
            s.add(Enrollment(course_id=course.id, student_id=st.id))
            for i, path in enumerate(portraits):
                key = f"student_photos/{t.id}/{st.id}/{uuid.uuid4().hex}{i}.jpg"
                store.put(key, path.read_bytes(), "image/jpeg")
                s.add(
                    StudentPhoto(
                        student_id=st.id,
                        storage_key=key,
                        original_filename=path.name,
                        content_type="image/jpeg",
                        width=1,
                        height=1,
                    )
                )
            ids["students"][name] = st.id
        sess = AttendanceSession(course_id=course.id, date=dt.date(2026, 11, 24), label=uuid.uuid4().hex[:6])
        s.add(sess)
        s.flush()
        ids["session"] = sess.id
        for filename, data in classroom:
            key = f"classroom_photos/{t.id}/{sess.id}/{uuid.uuid4().hex}.jpg"
            store.put(key, data, "image/jpeg")
            s.add(
                SessionPhoto(
                    session_id=sess.id,
                    storage_key=key,
                    original_filename=filename,
                    content_type="image/jpeg",
                    content_sha256=uuid.uuid4().hex,
                    width=1,
                    height=1,
                )
            )
        job = Job(teacher_id=t.id, kind=JobKind.ATTENDANCE, subject_id=sess.id)
        s.add(job)
        s.flush()
        ids["job"] = job.id
    return ids


def enroll_all(engine, student_ids) -> None:
    from sqlalchemy import select

    from attendance_worker.enrollment import enroll_photo

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        for photo_id in s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id.in_(list(student_ids)))):
            enroll_photo(s, make_store(settings), engine, photo_id)


def session_counts(session_id: int, url: str | None = None) -> tuple[int, int, int]:
    """(detected faces, attendance records, photos done) of one session: what "one set of records" means."""
    from sqlalchemy import func, select

    from attendance_shared.models import AttendanceRecord, DetectedFace, SessionPhotoStatus

    with session_scope(url or get_settings().sqlalchemy_url) as s:
        faces = s.scalar(
            select(func.count())
            .select_from(DetectedFace)
            .join(SessionPhoto)
            .where(SessionPhoto.session_id == session_id)
        )
        records = s.scalar(
            select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        )
        done = s.scalar(
            select(func.count())
            .select_from(SessionPhoto)
            .where(SessionPhoto.session_id == session_id, SessionPhoto.status == SessionPhotoStatus.DONE)
        )
        return int(faces or 0), int(records or 0), int(done or 0)
