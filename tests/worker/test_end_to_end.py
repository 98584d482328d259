"""Upload -> job row -> Redis -> real Celery worker process -> job finished, rows in PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceStatus,
    DetectedFace,
    Job,
    JobState,
    PhotoStatus,
    SessionPhoto,
    SessionPhotoStatus,
    StudentPhoto,
)
from attendance_shared.settings import get_settings
from tests.conftest import require_facedata, wait_for, worker_log

pytestmark = [pytest.mark.facedata, pytest.mark.slow]


def _photo_states(student_ids: list[int]) -> list[PhotoStatus]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return list(s.scalars(select(StudentPhoto.status).where(StudentPhoto.student_id.in_(student_ids))))


def test_classroom_photo_through_redis_and_worker(teacher, celery_worker_process):
    data = require_facedata()
    group = data / "groups" / "obama_biden"
    course = teacher.create_course("Civics")
    obama = teacher.add_student(course, "Barack Obama", "1001")
    biden = teacher.add_student(course, "Joe Biden", "1002")
    absent = teacher.add_student(course, "Adrien Brody", "1003")
    teacher.upload_portraits(obama, *sorted((group / "enroll" / "Barack_Obama").glob("*.jpg")))
    teacher.upload_portraits(biden, *sorted((group / "enroll" / "Joe_Biden").glob("*.jpg")))
    teacher.upload_portraits(
        absent, *(data / "lfw" / "identities" / "Adrien_Brody" / f"Adrien_Brody_000{i}.jpg" for i in (1, 3))
    )
    states = wait_for(
        lambda: (st := _photo_states([obama, biden, absent])) and PhotoStatus.PENDING not in st and st,
        240,
        0.5,
        "portraits checked\n" + worker_log()[-2000:],
    )
    assert states.count(PhotoStatus.ACCEPTED) == 6, states

    job_id = teacher.take_attendance(course, group / "class" / "obama_and_biden.jpg")
    job = teacher.wait_job(job_id)
    assert job["state"] == "succeeded", (job, worker_log()[-3000:])
    assert job["progress"] == 100

    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.get(Job, job_id).state == JobState.SUCCEEDED
        photo = s.scalar(
            select(SessionPhoto)
            .join(SessionPhoto.session)
            .where(SessionPhoto.original_filename == "obama_and_biden.jpg")
            .order_by(SessionPhoto.id.desc())
        )
        assert photo.status == SessionPhotoStatus.DONE and photo.annotated_key
        assert (
            s.scalar(select(func.count()).select_from(DetectedFace).where(DetectedFace.session_photo_id == photo.id))
            >= 2
        )
        records = {
            r.student_id: r.status
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == photo.session_id))
        }
    assert records == {
        obama: AttendanceStatus.PRESENT,
        biden: AttendanceStatus.PRESENT,
        absent: AttendanceStatus.ABSENT,
    }

    page = teacher.client.get(f"/sessions/{photo.session_id}")
    assert page.status_code == 200 and b"Barack Obama" in page.data
    assert teacher.client.get(f"/session-photos/{photo.id}/annotated").status_code == 200


def test_portrait_verdicts_are_shown(teacher, celery_worker_process):
    data = require_facedata()
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Solo", "2001")
    teacher.upload_portraits(student, data / "groups" / "solvay1927" / "solvay1927.jpg")
    wait_for(lambda: PhotoStatus.PENDING not in _photo_states([student]), 180, 0.5, "verdict")
    page = teacher.client.get(f"/students/{student}").data.decode()
    assert "rejected" in page and "upload a photo of this student alone" in page
