"""A task delivered twice leaves exactly one set of detected faces and attendance records;
a manual decision survives a re-run of recognition."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceStatus,
    Job,
    JobState,
    PhotoStatus,
    RecordSource,
    StudentPhoto,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store
from tests.conftest import require_facedata
from tests.factories import enroll_all, seed_course, session_counts

pytestmark = pytest.mark.facedata


@pytest.fixture(scope="module")
def engine():
    from attendance_worker.engine import get_engine

    return get_engine()


@pytest.fixture()
def enrolled_session(engine) -> dict:
    """Obama and Biden enrolled (portraits accepted) and a session holding the two-person photo."""
    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course(
        {n: sorted((group / "enroll" / n).glob("*.jpg")) for n in ("Barack_Obama", "Joe_Biden")},
        [("two_people.jpg", (group / "class" / "two_people.jpg").read_bytes())],
    )
    enroll_all(engine, ids["students"].values())
    with session_scope(get_settings().sqlalchemy_url) as s:
        statuses = s.scalars(select(StudentPhoto.status).where(StudentPhoto.student_id.in_(ids["students"].values())))
        assert set(statuses) == {PhotoStatus.ACCEPTED}
    return ids


def _counts(session_id: int) -> tuple[int, int]:
    faces, records, _done = session_counts(session_id)
    return faces, records


def test_task_delivered_twice_leaves_one_set_of_records(enrolled_session):
    from attendance_worker.tasks import process_session_task

    job_id, session_id = enrolled_session["job"], enrolled_session["session"]
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


class WorkerKilled(Exception):
    """The worker dies mid-job: the task ends without finishing its job (acks_late delivers it again)."""


def test_redelivered_job_counts_every_photo_of_the_job(engine, monkeypatch):
    """A worker dies after the first of two photos; the second delivery recognises only the other one, and the
    job's summary still counts both photos and all their faces (read back from the rows)."""
    from attendance_shared.models import DetectedFace, SessionPhoto
    from attendance_shared.records import FaceKind, face_kind
    from attendance_worker import classroom_photos
    from attendance_worker.classroom_photos import SessionOutcome
    from attendance_worker.tasks import process_session_task

    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course(
        {n: sorted((group / "enroll" / n).glob("*.jpg")) for n in ("Barack_Obama", "Joe_Biden")},
        [(p.name, p.read_bytes()) for p in sorted((group / "class").glob("*.jpg"))],
    )
    enroll_all(engine, ids["students"].values())
    job_id, session_id = ids["job"], ids["session"]
    recognise, calls = classroom_photos.recognise_photo, []

    def dies_on_the_second_photo(*args, **kwargs):
        calls.append(args[3].id)
        if len(calls) == 2:
            raise WorkerKilled
        return recognise(*args, **kwargs)

    monkeypatch.setattr(classroom_photos, "recognise_photo", dies_on_the_second_photo)
    with pytest.raises(WorkerKilled):
        process_session_task.run(job_id=job_id, session_id=session_id)
    monkeypatch.setattr(classroom_photos, "recognise_photo", recognise)
    assert _counts(session_id)[0] >= 1  # the first photo's faces are written
    process_session_task.run(job_id=job_id, session_id=session_id)  # the redelivery

    with session_scope(get_settings().sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        photos = s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session_id)).all()
        faces = s.scalars(select(DetectedFace).where(DetectedFace.session_photo_id.in_([p.id for p in photos]))).all()
        kinds = [face_kind(f) for f in faces]
        assert job.state == JobState.SUCCEEDED and job.attempts == 2
        assert len(photos) == 2 and all(p.processed_at for p in photos)
        expected = SessionOutcome(
            photos=2,
            faces=len(faces),
            present=kinds.count(FaceKind.MATCHED),
            confirm=kinds.count(FaceKind.CONFIRM),
            unknown=kinds.count(FaceKind.UNKNOWN),
            rejected=kinds.count(FaceKind.REJECTED),
            students_present=2,
            students=2,
        ).summary()
        assert job.message == expected


def test_manual_decision_survives_a_rerun(engine, enrolled_session):
    from attendance_worker.classroom_photos import process_session

    session_id, biden, obama = (
        enrolled_session["session"],
        enrolled_session["students"]["Joe_Biden"],
        enrolled_session["students"]["Barack_Obama"],
    )
    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, session_id, lambda p, m: None)
    with session_scope(settings.sqlalchemy_url) as s:
        rec = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == biden
            )
        )
        rec.status, rec.source, rec.updated_by_id = (
            AttendanceStatus.EXCUSED,
            RecordSource.MANUAL,
            enrolled_session["teacher"],
        )
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, session_id, lambda p, m: None)
    with session_scope(settings.sqlalchemy_url) as s:
        records = s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id))
        recs = {r.student_id: (r.status, r.source) for r in records}
    assert recs[biden] == (AttendanceStatus.EXCUSED, RecordSource.MANUAL)
    assert recs[obama] == (AttendanceStatus.PRESENT, RecordSource.AUTO)
