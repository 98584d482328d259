"""The course page's roster says which students recognition can find: a refused portrait is not hidden behind
"0 accepted"."""

from __future__ import annotations

from attendance_shared.db import session_scope
from attendance_shared.models import FaceEmbedding, PhotoStatus, StudentPhoto
from attendance_shared.settings import get_settings


def _photo(student_id: int, status: PhotoStatus, n: int) -> StudentPhoto:
    return StudentPhoto(
        student_id=student_id,
        storage_key=f"student_photos/test/{student_id}/{n}.jpg",
        original_filename=f"{n}.jpg",
        content_type="image/jpeg",
        width=10,
        height=10,
        status=status,
    )


def test_the_roster_says_who_cannot_be_recognised(teacher):
    course = teacher.create_course("Chemistry")
    ann, ben, cat = (teacher.add_student(course, name, str(i)) for i, name in enumerate(("Ann", "Ben", "Cat")))
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.add_all([_photo(ann, PhotoStatus.ACCEPTED, 1), _photo(ann, PhotoStatus.REJECTED, 2)])
        s.add_all([_photo(ben, PhotoStatus.REJECTED, 3), _photo(cat, PhotoStatus.PENDING, 4)])
    html = teacher.client.get(f"/courses/{course}").get_data(as_text=True)
    rows = {name: html[html.index(f">{name}</a>") :][:700] for name in ("Ann", "Ben", "Cat")}
    assert "1 accepted" in rows["Ann"] and "1 refused" in rows["Ann"]
    assert "none usable: cannot be recognised" in rows["Ben"] and "1 refused" in rows["Ben"]
    assert "being checked" in rows["Cat"]
    assert '<div class="table-wrap" role="region" aria-label="Roster" tabindex="0">' in html  # scrolls, by keyboard too
    with session_scope(get_settings().sqlalchemy_url) as s:  # a face the teacher assigned to Ben taught the gallery
        s.add(FaceEmbedding(student_id=ben, model_id="m", dim=2, vector=b"\0" * 8))
    html = teacher.client.get(f"/courses/{course}").get_data(as_text=True)
    assert "none, but faces you named teach recognition" in html[html.index(">Ben</a>") :][:700]


def test_remove_asks_first_and_says_what_happens_to_past_attendance_and_portraits(teacher):
    """The "Remove" dialog says what removing does, and it is what removing does: the student's past records and
    portraits are kept (the records stay in past sessions and the reports); only the enrolment goes."""
    import datetime as dt

    from sqlalchemy import func, select

    from attendance_shared.models import (
        AttendanceRecord,
        AttendanceSession,
        AttendanceStatus,
        Enrollment,
        RecordSource,
    )

    course = teacher.create_course("Physics")
    ann = teacher.add_student(course, "Ann O'Neil", "7")
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.add(_photo(ann, PhotoStatus.ACCEPTED, 1))
        att = AttendanceSession(course_id=course, date=dt.date(2026, 11, 24), label="P1")
        s.add(att)
        s.flush()
        s.add(
            AttendanceRecord(
                session_id=att.id, student_id=ann, status=AttendanceStatus.PRESENT, source=RecordSource.AUTO
            )
        )
    html = teacher.client.get(f"/courses/{course}").get_data(as_text=True)
    button = html[html.index(f"/courses/{course}/students/{ann}/remove") :]
    button = button[: button.index("</form>")]
    assert "Remove Ann O&#39;Neil from the course?" in button
    assert "Their attendance in past sessions is kept" in button and "in the reports" in button
    assert "Their portraits stay with the student" in button
    assert teacher.client.post(f"/courses/{course}/students/{ann}/remove").status_code == 302
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.get(Enrollment, (course, ann)) is None
        assert (
            s.scalar(select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.student_id == ann)) == 1
        )
        assert s.scalar(select(func.count()).select_from(StudentPhoto).where(StudentPhoto.student_id == ann)) == 1


def test_the_dashboard_counts_todays_session_as_the_review_page_does_after_a_removal(teacher):
    """Ann (present) and Ben (absent) in today's session; Ann is then removed from the course. Today's list is
    still both of them, as on the review page and in the reports: "1 of 2 present", not "1 of 1"."""
    import datetime as dt

    from attendance_shared.models import AttendanceRecord, AttendanceSession, AttendanceStatus, RecordSource

    course = teacher.create_course("Music")
    ann, ben = teacher.add_student(course, "Ann", "1"), teacher.add_student(course, "Ben", "2")
    with session_scope(get_settings().sqlalchemy_url) as s:
        att = AttendanceSession(course_id=course, date=dt.date.today(), label="P1")
        s.add(att)
        s.flush()
        for student, status in ((ann, AttendanceStatus.PRESENT), (ben, AttendanceStatus.ABSENT)):
            s.add(AttendanceRecord(session_id=att.id, student_id=student, status=status, source=RecordSource.AUTO))
        session_id = att.id
    teacher.client.post(f"/courses/{course}/students/{ann}/remove")
    dashboard = teacher.client.get("/").get_data(as_text=True)
    assert "1 of 2 present" in dashboard
    review = teacher.client.get(f"/sessions/{session_id}").get_data(as_text=True)
    assert "1 present" in review and "of 2 students" in review
