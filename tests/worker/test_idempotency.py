"""A task delivered twice leaves exactly one set of detected faces and attendance records;
a manual decision survives a re-run of recognition."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    DetectedFace,
    Enrollment,
    Job,
    JobKind,
    JobState,
    PhotoStatus,
    RecordSource,
    SessionPhoto,
    Student,
    StudentPhoto,
    Teacher,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store

pytestmark = pytest.mark.facedata


@pytest.fixture(scope="module")
def engine():
    from attendance_worker.engine import get_engine

    return get_engine()


def _seed(data_dir) -> tuple[int, int, dict[str, int]]:
    """A course with Obama and Biden enrolled and a session holding the two-person photo."""
    settings = get_settings()
    store = make_store(settings)
    group = data_dir / "groups" / "obama_biden"
    with session_scope(settings.sqlalchemy_url) as s:
        t = Teacher(email=f"{uuid.uuid4().hex[:8]}@school.example.org", name="T", password_hash="x")
        s.add(t)
        s.flush()
        course = Course(teacher_id=t.id, name="Course")
        s.add(course)
        s.flush()
        students = {}
        for name in ("Barack_Obama", "Joe_Biden"):
            st = Student(teacher_id=t.id, name=name.replace("_", " "), student_number=name)
            s.add(st)
            s.flush()
            s.add(Enrollment(course_id=course.id, student_id=st.id))
            for i, path in enumerate(sorted((group / "enroll" / name).glob("*.jpg"))):
                key = f"student_photos/{t.id}/{st.id}/{i}.jpg"
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
            students[name] = st.id
        sess = AttendanceSession(course_id=course.id, date=dt.date(2026, 11, 24), label="P1")
        s.add(sess)
        s.flush()
        key = f"classroom_photos/{t.id}/{sess.id}/room.jpg"
        store.put(key, (group / "class" / "two_people.jpg").read_bytes(), "image/jpeg")
        s.add(
            SessionPhoto(
                session_id=sess.id,
                storage_key=key,
                original_filename="two_people.jpg",
                content_type="image/jpeg",
                content_sha256=uuid.uuid4().hex,
                width=1,
                height=1,
            )
        )
        job = Job(teacher_id=t.id, kind=JobKind.ATTENDANCE, subject_id=sess.id)
        s.add(job)
        s.flush()
        return sess.id, t.id, students | {"_job": job.id}  # type: ignore[return-value]


def _counts(session_id: int) -> tuple[int, int]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        faces = s.scalar(
            select(func.count())
            .select_from(DetectedFace)
            .join(SessionPhoto)
            .where(SessionPhoto.session_id == session_id)
        )
        records = s.scalar(
            select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        )
        return faces, records


def _enroll_all(engine, student_ids):
    from attendance_worker.enrollment import enroll_photo

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        for photo_id in s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id.in_(student_ids))):
            enroll_photo(s, make_store(settings), engine, photo_id)
    with session_scope(settings.sqlalchemy_url) as s:
        assert set(s.scalars(select(StudentPhoto.status).where(StudentPhoto.student_id.in_(student_ids)))) == {
            PhotoStatus.ACCEPTED
        }


def test_task_delivered_twice_leaves_one_set_of_records(engine):
    from tests.conftest import require_facedata

    data = require_facedata()
    session_id, _teacher, ids = _seed(data)
    _enroll_all(engine, [ids["Barack_Obama"], ids["Joe_Biden"]])
    from attendance_worker.tasks import process_session_task

    job_id = ids["_job"]
    process_session_task.run(job_id=job_id, session_id=session_id)
    first = _counts(session_id)
    assert first[0] >= 2 and first[1] == 2
    # Redelivery after success: the job is left as it is.
    process_session_task.run(job_id=job_id, session_id=session_id)
    assert _counts(session_id) == first
    # Redelivery of a job whose worker died mid-way (state still "running"): redone, not duplicated.
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.get(Job, job_id).state = JobState.RUNNING
    process_session_task.run(job_id=job_id, session_id=session_id)
    assert _counts(session_id) == first
    with session_scope(get_settings().sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        assert job.state == JobState.SUCCEEDED and job.progress == 100
        statuses = set(s.scalars(select(AttendanceRecord.status).where(AttendanceRecord.session_id == session_id)))
    assert statuses == {AttendanceStatus.PRESENT}


def test_manual_decision_survives_a_rerun(engine):
    from tests.conftest import require_facedata

    data = require_facedata()
    session_id, teacher_id, ids = _seed(data)
    _enroll_all(engine, [ids["Barack_Obama"], ids["Joe_Biden"]])
    from attendance_worker.attendance import process_session

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, session_id, lambda p, m: None)
    with session_scope(settings.sqlalchemy_url) as s:
        rec = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == ids["Joe_Biden"]
            )
        )
        rec.status, rec.source, rec.updated_by_id = AttendanceStatus.EXCUSED, RecordSource.MANUAL, teacher_id
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, session_id, lambda p, m: None)
    with session_scope(settings.sqlalchemy_url) as s:
        recs = {
            r.student_id: (r.status, r.source)
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id))
        }
    assert recs[ids["Joe_Biden"]] == (AttendanceStatus.EXCUSED, RecordSource.MANUAL)
    assert recs[ids["Barack_Obama"]] == (AttendanceStatus.PRESENT, RecordSource.AUTO)
