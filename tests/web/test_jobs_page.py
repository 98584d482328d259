"""The job page and the dashboard's job list speak a teacher's words: "waiting its turn", "working", "done",
"could not finish", and "photo refused" for a portrait check that refused the photo (the job itself succeeded)."""

from __future__ import annotations

from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import Job, JobKind, JobOutcome, JobState, PhotoStatus, Student, StudentPhoto, Teacher
from attendance_shared.refusals import several_faces
from attendance_shared.settings import get_settings


def _jobs(teacher) -> dict[str, str]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == teacher.email))
        student = Student(teacher_id=teacher_id, name="Ann", student_number="1")
        s.add(student)
        s.flush()
        refusal = several_faces("group.jpg", 2)
        photo = StudentPhoto(
            student_id=student.id,
            storage_key=f"student_photos/{teacher_id}/{student.id}/a.jpg",
            original_filename="group.jpg",
            content_type="image/jpeg",
            width=10,
            height=10,
            status=PhotoStatus.REJECTED,
            refusal=refusal.code,
            reason=refusal.sentence,
        )
        s.add(photo)
        s.flush()
        refused = Job(
            teacher_id=teacher_id,
            kind=JobKind.ENROLLMENT,
            subject_id=photo.id,
            state=JobState.SUCCEEDED,
            progress=100,
            message=photo.reason,
            outcome=JobOutcome.REFUSED,
        )
        waiting = Job(teacher_id=teacher_id, kind=JobKind.ATTENDANCE, subject_id=0, state=JobState.QUEUED)
        s.add_all([refused, waiting])
        s.flush()
        return {"refused": refused.id, "waiting": waiting.id}


def test_job_page_and_dashboard_say_what_happened_in_words(teacher):
    jobs = _jobs(teacher)
    page = teacher.client.get(f"/jobs/{jobs['refused']}").get_data(as_text=True)
    assert "<title>Checking a portrait" in page and ">photo refused<" in page and "State:" not in page
    assert "2 faces in group.jpg" in page and "Open the student&#39;s page" in page
    waiting = teacher.client.get(f"/jobs/{jobs['waiting']}").get_data(as_text=True)
    assert "<title>Taking attendance" in waiting and ">waiting its turn<" in waiting
    status = teacher.client.get(f"/jobs/{jobs['refused']}.json").get_json()
    assert (status["state"], status["state_words"], status["badge"]) == ("succeeded", "photo refused", "rejected")
    dashboard = teacher.client.get("/").get_data(as_text=True)
    listed = dashboard[dashboard.index('id="jobs-title"') :]
    assert 'class="badge rejected">photo refused<' in listed and 'class="badge queued">waiting its turn<' in listed
    assert ">succeeded<" not in listed
