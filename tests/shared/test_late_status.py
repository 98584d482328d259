"""Late: a status only the teacher gives, counted as attended, and kept by every rule that keeps a teacher's mark."""

from __future__ import annotations

from sqlalchemy.orm import Session

from attendance_shared import records
from attendance_shared.models import AttendanceStatus, FaceDecision, RecordSource
from attendance_shared.records import Detached
from attendance_worker.classroom_photos import SessionOutcome
from tests.shared.test_records import Lesson, db, engine  # noqa: F401  (the fixtures)


def _mark_late(lesson: Lesson, name: str) -> None:
    """As the review page's Late button does (attendance_web.sessions.corrections.set_status)."""
    record, previous = records.record_for(lesson.db, lesson.session.id, lesson.id(name))
    record.detected_face_id, record.similarity = None, None
    records.write_change(lesson.db, record, previous, AttendanceStatus.LATE, lesson.teacher.id, "bus")


def test_a_re_run_never_touches_a_late_mark(db: Session):  # noqa: F811
    """Recognition marks present or absent only: a late student stays late whether a face of them is found or not."""
    lesson = Lesson(db)
    lesson.face(0, FaceDecision.PRESENT, "Ann")
    records.merge_records(db, lesson.session)
    _mark_late(lesson, "Ann")
    _mark_late(lesson, "Ben")  # no face of Ben: still not "absent"
    lesson.succeeded_job()
    records.merge_records(db, lesson.session)
    for name in ("Ann", "Ben"):
        record = lesson.record(name)
        db.refresh(record)
        assert (record.status, record.source) == (AttendanceStatus.LATE, RecordSource.MANUAL)
        assert records.is_hand_mark(record)


def test_rejecting_the_face_of_a_late_student_keeps_them_late(db: Session):  # noqa: F811
    lesson = Lesson(db)
    face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    records.merge_records(db, lesson.session)
    _mark_late(lesson, "Ann")
    done = records.detach(db, face, lesson.id("Ann"), lesson.teacher.id, "Rejected face 1")
    assert (done.outcome, done.status) == (Detached.HAND_MARK_KEPT, AttendanceStatus.LATE)
    assert lesson.record("Ann").status == AttendanceStatus.LATE


def test_late_counts_as_attended(db: Session):  # noqa: F811
    lesson = Lesson(db)
    lesson.face(0, FaceDecision.PRESENT, "Ann")
    records.merge_records(db, lesson.session)
    _mark_late(lesson, "Ben")
    everyone = [lesson.id(name) for name in ("Ann", "Ben", "Cat")]
    assert records.attended_count(db, lesson.session.id, everyone) == (2, 1)
    assert records.attended_count(db, lesson.session.id, [lesson.id("Cat")]) == (0, 0)


def test_the_job_summary_says_how_many_came_late():
    outcome = SessionOutcome(photos=1, faces=1, present=1, students_present=2, students_late=1, students=3)
    assert outcome.summary().startswith("2 of 3 students present (1 late). ")
    assert (
        SessionOutcome(students_present=1, students=3).summary()
        == "1 of 3 students present; no new photos to recognise."
    )
