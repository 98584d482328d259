"""The attendance decision rules (attendance_shared.records), exercised without HTTP, a worker or face models.

Each test builds a small session on an SQLite database migrated with Alembic, applies one rule and reads the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance_shared import migrate, records
from attendance_shared.db import make_engine
from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    DetectedFace,
    Enrollment,
    FaceDecision,
    FaceReview,
    Job,
    JobKind,
    JobState,
    RecordSource,
    School,
    SessionPhoto,
    SessionPhotoStatus,
    Student,
    Teacher,
)
from attendance_shared.records import Detached, StoredEvidence, merge_session


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('records')) / 'records.sqlite'}"
    migrate.upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture()
def db(engine) -> Iterator[Session]:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        yield session


class Lesson:
    """A teacher's course with students Ann, Ben and Cat, one session and one photo."""

    def __init__(self, db: Session) -> None:
        self.db = db
        self.teacher = Teacher(
            email=f"t{id(self)}@school.example.org", name="T", password_hash="x", school=School(name="S")
        )
        self.course = Course(teacher=self.teacher, name="Biology")
        db.add_all([self.teacher, self.course])
        db.flush()
        self.students = {}
        for number, name in enumerate(("Ann", "Ben", "Cat"), start=1):
            student = Student(teacher_id=self.teacher.id, name=name, student_number=str(number))
            db.add(student)
            db.flush()
            db.add(Enrollment(course_id=self.course.id, student_id=student.id))
            self.students[name] = student
        self.session = AttendanceSession(course_id=self.course.id, date=dt.date(2026, 11, 24), label="Period 1")
        db.add(self.session)
        db.flush()
        self.photo = SessionPhoto(
            session_id=self.session.id,
            storage_key=f"photos/{self.session.id}.jpg",
            original_filename="room.jpg",
            content_type="image/jpeg",
            content_sha256="0" * 64,
            width=1000,
            height=800,
            status=SessionPhotoStatus.DONE,
        )
        db.add(self.photo)
        db.flush()
        db.refresh(self.course)

    def id(self, name: str) -> int:
        return self.students[name].id

    def face(self, index: int, decision: FaceDecision, who: str | None, similarity: float = 0.6) -> DetectedFace:
        student = self.id(who) if who else None
        row = DetectedFace(
            session_photo_id=self.photo.id,
            face_index=index,
            box=[100.0 * index, 10.0, 100.0 * index + 80, 90.0],
            detection_score=0.9,
            face_px=80,
            decision=decision,
            student_id=student if decision == FaceDecision.PRESENT else None,
            candidate_student_id=student,
            similarity=similarity,
            model_id="m",
        )
        self.db.add(row)
        self.db.flush()
        return row

    def record(self, name: str) -> AttendanceRecord | None:
        return records.find_record(self.db, self.session.id, self.id(name))

    def succeeded_job(self) -> None:
        self.db.add(
            Job(
                teacher_id=self.teacher.id,
                kind=JobKind.ATTENDANCE,
                subject_id=self.session.id,
                state=JobState.SUCCEEDED,
            )
        )
        self.db.flush()


# --- which faces support a present mark ---------------------------------------------------------------------------


def test_merge_session_present_in_any_photo_confirm_never_present():
    per_photo = [
        [StoredEvidence("present", "A", "A", 0.6), StoredEvidence("confirm", None, "B", 0.35)],
        [
            StoredEvidence("present", "A", "A", 0.7),
            StoredEvidence("unknown", None, "C", 0.1),
            StoredEvidence("confirm", None, "B", 0.38),
        ],
        [StoredEvidence("confirm", None, "A", 0.39), StoredEvidence("present", "D", "D", 0.5)],
    ]
    merged = merge_session(per_photo)
    assert merged["A"] == (1, 0, "present", 0.7)
    assert merged["B"].decision == "confirm" and merged["B"].photo_index == 1
    assert merged["D"].decision == "present"
    assert "C" not in merged
    assert {p for p, m in merged.items() if m.decision == "present"} == {"A", "D"}


def test_a_rejected_present_face_no_longer_supports_the_student(db: Session):
    lesson = Lesson(db)
    face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    assert records.supports_present(face) and records.stored_evidence(face).person == str(lesson.id("Ann"))
    face.student_id, face.review = None, FaceReview.REJECTED
    assert not records.supports_present(face) and records.stored_evidence(face).person is None
    assert records.supporting_faces(db, lesson.session.id, lesson.id("Ann")) == []


# --- the merge after a run ----------------------------------------------------------------------------------------


def test_first_run_records_every_student_and_confirm_faces_make_nobody_present(db: Session):
    lesson = Lesson(db)
    lesson.face(0, FaceDecision.PRESENT, "Ann", 0.7)
    lesson.face(1, FaceDecision.CONFIRM, "Ben", 0.3)
    assert records.merge_records(db, lesson.session) == (1, 2)
    assert lesson.record("Ann").status == AttendanceStatus.PRESENT
    assert lesson.record("Ann").source == RecordSource.AUTO
    assert lesson.record("Ben").status == AttendanceStatus.ABSENT
    assert lesson.record("Cat").status == AttendanceStatus.ABSENT


def test_a_later_run_never_marks_a_student_who_joined_since_absent(db: Session):
    lesson = Lesson(db)
    records.merge_records(db, lesson.session)
    lesson.succeeded_job()
    dan = Student(teacher_id=lesson.teacher.id, name="Dan", student_number="4")
    db.add(dan)
    db.flush()
    db.add(Enrollment(course_id=lesson.course.id, student_id=dan.id))
    db.flush()
    db.refresh(lesson.course)
    records.merge_records(db, lesson.session)
    assert records.find_record(db, lesson.session.id, dan.id) is None


def test_the_merge_never_overwrites_a_teachers_mark(db: Session):
    lesson = Lesson(db)
    lesson.face(0, FaceDecision.PRESENT, "Ann")
    record, previous = records.record_for(db, lesson.session.id, lesson.id("Ann"))
    records.write_change(db, record, previous, AttendanceStatus.EXCUSED, lesson.teacher.id, "doctor")
    records.merge_records(db, lesson.session)
    db.refresh(record)
    assert (record.status, record.source) == (AttendanceStatus.EXCUSED, RecordSource.MANUAL)
    assert records.is_hand_mark(record)


# --- a face taken away from a student -----------------------------------------------------------------------------


def test_detach_without_another_face_makes_an_automatic_absent(db: Session):
    lesson = Lesson(db)
    face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    records.merge_records(db, lesson.session)
    done = records.detach(db, face, lesson.id("Ann"), lesson.teacher.id, "Rejected face 1")
    assert done.outcome == Detached.NO_LONGER_PRESENT
    ann = lesson.record("Ann")
    assert (ann.status, ann.source, ann.detected_face_id) == (AttendanceStatus.ABSENT, RecordSource.AUTO, None)
    note = db.scalar(select(AttendanceChange.note).where(AttendanceChange.record_id == ann.id))
    assert note == "Rejected face 1; no other face of Ann"


def test_detach_keeps_present_while_another_face_supports_it(db: Session):
    lesson = Lesson(db)
    first = lesson.face(0, FaceDecision.PRESENT, "Ann", 0.7)
    second = lesson.face(1, FaceDecision.PRESENT, "Ann", 0.6)
    records.merge_records(db, lesson.session)
    done = records.detach(db, first, lesson.id("Ann"), lesson.teacher.id, "Rejected face 1")
    assert done.outcome == Detached.PRESENT_FROM_ANOTHER_FACE
    assert lesson.record("Ann").status == AttendanceStatus.PRESENT
    assert lesson.record("Ann").detected_face_id == second.id


def test_detach_leaves_a_hand_mark_and_a_student_without_a_record_alone(db: Session):
    lesson = Lesson(db)
    ann_face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    ben_face = lesson.face(1, FaceDecision.PRESENT, "Ben")
    record, previous = records.record_for(db, lesson.session.id, lesson.id("Ann"))
    records.write_change(db, record, previous, AttendanceStatus.PRESENT, lesson.teacher.id, "Marked by hand")
    assert records.detach(db, ann_face, lesson.id("Ann"), lesson.teacher.id, "x").outcome == Detached.HAND_MARK_KEPT
    assert lesson.record("Ann").source == RecordSource.MANUAL
    assert records.detach(db, ben_face, lesson.id("Ben"), lesson.teacher.id, "x").outcome == Detached.NO_RECORD
    assert lesson.record("Ben") is None


def test_detach_keeps_the_record_of_a_student_who_left_the_course(db: Session):
    lesson = Lesson(db)
    face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    records.merge_records(db, lesson.session)
    db.delete(db.get(Enrollment, (lesson.course.id, lesson.id("Ann"))))
    db.flush()
    assert records.detach(db, face, lesson.id("Ann"), lesson.teacher.id, "x").outcome == Detached.LEFT_COURSE
    assert lesson.record("Ann").status == AttendanceStatus.PRESENT


def _history(db: Session, record: AttendanceRecord) -> list[tuple[str | None, str, str | None]]:
    rows = db.execute(
        select(AttendanceChange.from_status, AttendanceChange.to_status, AttendanceChange.note)
        .where(AttendanceChange.record_id == record.id)
        .order_by(AttendanceChange.id)
    )
    return [tuple(row) for row in rows]


def test_a_change_that_changes_nothing_writes_no_history_row(db: Session):
    """ "present -> present" with only the note an action writes by itself is not a change; a note the teacher typed
    beside the same status is kept (it is what the reports show beside the mark)."""
    lesson = Lesson(db)
    first = lesson.face(0, FaceDecision.PRESENT, "Ann", 0.7)
    lesson.face(1, FaceDecision.PRESENT, "Ann", 0.6)
    records.merge_records(db, lesson.session)
    ann = lesson.record("Ann")
    assert records.write_change(db, ann, ann.status, ann.status, lesson.teacher.id, "x", make_manual=False) is None
    done = records.detach(db, first, lesson.id("Ann"), lesson.teacher.id, "Rejected face 1")
    assert done.outcome == Detached.PRESENT_FROM_ANOTHER_FACE
    db.flush()
    assert _history(db, ann) == []
    typed = records.write_change(db, ann, ann.status, ann.status, lesson.teacher.id, "came late", typed_note=True)
    assert typed is not None
    records.write_change(db, ann, ann.status, AttendanceStatus.EXCUSED, lesson.teacher.id, "Marked by hand")
    db.flush()
    assert _history(db, ann) == [("present", "present", "came late"), ("present", "excused", "Marked by hand")]


def test_detach_from_a_student_who_left_or_a_hand_mark_writes_no_history_row(db: Session):
    lesson = Lesson(db)
    ann_face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    ben_face = lesson.face(1, FaceDecision.PRESENT, "Ben")
    records.merge_records(db, lesson.session)
    ben, previous = records.record_for(db, lesson.session.id, lesson.id("Ben"))
    ben.detected_face_id = None  # as the Present / Absent / Excused buttons do
    records.write_change(db, ben, previous, AttendanceStatus.EXCUSED, lesson.teacher.id, "Marked by hand")
    db.delete(db.get(Enrollment, (lesson.course.id, lesson.id("Ann"))))
    db.flush()
    assert records.detach(db, ann_face, lesson.id("Ann"), lesson.teacher.id, "x").outcome == Detached.LEFT_COURSE
    assert records.detach(db, ben_face, lesson.id("Ben"), lesson.teacher.id, "x").outcome == Detached.HAND_MARK_KEPT
    db.flush()
    assert _history(db, lesson.record("Ann")) == []
    assert _history(db, ben) == [("present", "excused", "Marked by hand")]


def test_one_student_one_face_per_photo(db: Session):
    """The engine assigns faces to students one-to-one in each photo; the teacher's actions follow the same rule."""
    lesson = Lesson(db)
    ann = lesson.face(0, FaceDecision.PRESENT, "Ann")
    other = lesson.face(1, FaceDecision.UNKNOWN, None)
    assert records.face_of_student_in_photo(db, other, lesson.id("Ann")) == ann
    assert records.face_of_student_in_photo(db, ann, lesson.id("Ann")) is None  # the face itself does not count
    assert records.face_of_student_in_photo(db, other, lesson.id("Ben")) is None
    ann.review = FaceReview.REJECTED  # "not Ann": it no longer stands for her
    db.flush()
    assert records.face_of_student_in_photo(db, other, lesson.id("Ann")) is None


# --- a session's list ---------------------------------------------------------------------------------------------


def test_the_list_is_the_course_now_plus_everyone_recorded(db: Session):
    lesson = Lesson(db)
    records.merge_records(db, lesson.session)
    db.delete(db.get(Enrollment, (lesson.course.id, lesson.id("Cat"))))
    outsider = Student(teacher_id=lesson.teacher.id, name="Zoe", student_number="9")  # never in it
    db.add(outsider)
    db.flush()
    rows = db.execute(records.session_list_query(lesson.session.id, lesson.course.id)).all()
    assert [(s.name, bool(enrolled), rec is not None) for s, enrolled, rec in rows] == [
        ("Ann", True, True),
        ("Ben", True, True),
        ("Cat", False, True),
    ]
    assert records.session_list_sizes(db, [lesson.session]) == {lesson.session.id: 3}


# --- a re-run -----------------------------------------------------------------------------------------------------


def test_a_rerun_carries_a_confirmed_face_to_the_face_at_the_same_place(db: Session):
    lesson = Lesson(db)
    old = lesson.face(0, FaceDecision.CONFIRM, "Ben", 0.3)
    old.student_id, old.review = lesson.id("Ben"), FaceReview.CONFIRMED
    db.flush()
    earlier = records.earlier_faces(db, lesson.photo.id)
    db.delete(old)
    db.flush()
    new = lesson.face(0, FaceDecision.CONFIRM, "Ben", 0.31)
    records.carry_over(db, earlier, [new], {lesson.id("Ben")})
    assert (new.student_id, new.review) == (lesson.id("Ben"), FaceReview.CONFIRMED)


# --- what the teacher still has to decide, and who decided ---------------------------------------------------------


def test_a_rejected_face_is_not_an_unknown_face():
    kind = records.kind_of
    assert kind(FaceDecision.PRESENT, FaceReview.NONE, True, True) == records.FaceKind.MATCHED
    assert kind(FaceDecision.CONFIRM, FaceReview.NONE, False, True) == records.FaceKind.CONFIRM
    assert kind(FaceDecision.UNKNOWN, FaceReview.NONE, False, False) == records.FaceKind.UNKNOWN
    assert kind(FaceDecision.CONFIRM, FaceReview.REJECTED, False, True) == records.FaceKind.REJECTED
    assert kind(FaceDecision.PRESENT, FaceReview.REJECTED, False, True) == records.FaceKind.REJECTED
    assert kind(FaceDecision.UNKNOWN, FaceReview.ASSIGNED, True, True) == records.FaceKind.MATCHED


def test_face_kind_counts_one_grouped_query_for_many_sessions(db: Session):
    lesson = Lesson(db)
    lesson.face(0, FaceDecision.PRESENT, "Ann")
    lesson.face(1, FaceDecision.CONFIRM, "Ben").review = FaceReview.REJECTED
    lesson.face(2, FaceDecision.CONFIRM, "Cat")
    lesson.face(3, FaceDecision.UNKNOWN, None)
    db.flush()
    other = Lesson(db)
    counts = records.face_kind_counts(db, [lesson.session.id, other.session.id])
    K = records.FaceKind
    assert counts[lesson.session.id] == {K.MATCHED: 1, K.CONFIRM: 1, K.UNKNOWN: 1, K.REJECTED: 1}
    assert counts[other.session.id] == dict.fromkeys(K, 0)
    assert records.sessions_with_faces_to_confirm(db, [lesson.course.id, other.course.id]) == {lesson.session.id: 1}


def test_a_student_waits_for_confirmation_until_something_decides_their_mark(db: Session):
    """Waiting: a face in "please confirm" names them and their record is recognition's "absent" (or missing). A
    face recognition was sure of (present), a hand mark or the teacher's answer ends the wait."""
    lesson = Lesson(db)
    ben_low = lesson.face(0, FaceDecision.CONFIRM, "Ben", similarity=0.35)
    ben_best = lesson.face(1, FaceDecision.CONFIRM, "Ben", similarity=0.45)
    cat = lesson.face(2, FaceDecision.CONFIRM, "Cat")
    lesson.face(3, FaceDecision.PRESENT, "Ann")
    lesson.face(4, FaceDecision.CONFIRM, "Ann")  # Ann is present from another face: she is not waiting
    assert records.waiting_for_confirmation(db, lesson.session.id) == {
        lesson.id("Ben"): ben_best.id,
        lesson.id("Cat"): cat.id,
    }
    records.merge_records(db, lesson.session)
    assert set(records.waiting_for_confirmation(db, lesson.session.id)) == {lesson.id("Ben"), lesson.id("Cat")}
    record, previous = records.record_for(db, lesson.session.id, lesson.id("Cat"))
    records.write_change(db, record, previous, AttendanceStatus.EXCUSED, lesson.teacher.id, "Dentist")  # hand mark
    ben_best.review = FaceReview.REJECTED
    db.flush()
    assert records.waiting_for_confirmation(db, lesson.session.id) == {lesson.id("Ben"): ben_low.id}
    other = Lesson(db)
    assert records.waiting_by_session(db, [lesson.session.id, other.session.id]) == {
        lesson.session.id: {lesson.id("Ben"): ben_low.id},
        other.session.id: {},
    }


def _fact(from_status: str | None, to_status: str, note: str = "n", minute: int = 0) -> records.ChangeFact:
    return records.ChangeFact(from_status, to_status, note, dt.datetime(2026, 12, 7, 14, minute))


def test_who_decided_a_mark():
    P, A = AttendanceStatus.PRESENT, AttendanceStatus.ABSENT
    decide = records.decision_of
    # recognition alone
    assert decide(P, RecordSource.AUTO, []).by == records.DecidedBy.RECOGNITION
    # a rejected face left her absent: automatic record, the teacher's decision (what and when)
    rejected = [_fact("present", "absent", "Rejected face 2 in room.jpg; no other face of Ann", 5)]
    got = decide(A, RecordSource.AUTO, rejected)
    assert (got.by, got.action, got.at) == (
        records.DecidedBy.TEACHER,
        rejected[0].note,
        dt.datetime(2026, 12, 7, 14, 5),
    )
    # a photo added later marked her present again (the worker writes no history): recognition's again
    assert decide(P, RecordSource.AUTO, rejected).by == records.DecidedBy.RECOGNITION
    # "No, not Ben" on the face he waited on: unconfirmed -> absent is the teacher's
    assert decide(A, RecordSource.AUTO, [_fact("unconfirmed", "absent")]).by == records.DecidedBy.TEACHER
    # a row that changed nothing does not claim the mark
    assert decide(P, RecordSource.AUTO, [_fact("present", "present")]).by == records.DecidedBy.RECOGNITION
    # a manual record is the teacher's, as of its latest change
    manual = decide(
        A, RecordSource.MANUAL, [_fact(None, "present", "Confirmed", 1), _fact("present", "absent", "x", 9)]
    )
    assert (manual.by, manual.action, manual.at.minute) == (records.DecidedBy.TEACHER, "x", 9)


def test_decisions_reads_each_records_history_in_one_query(db: Session):
    lesson = Lesson(db)
    face = lesson.face(0, FaceDecision.PRESENT, "Ann")
    records.merge_records(db, lesson.session)
    records.detach(db, face, lesson.id("Ann"), lesson.teacher.id, "Rejected face 1")
    db.flush()
    ann, ben = lesson.record("Ann"), lesson.record("Ben")
    found = records.decisions(db, [ann, ben])
    assert ann.source == RecordSource.AUTO  # a later photo may still mark her present
    assert found[ann.id].by == records.DecidedBy.TEACHER
    assert found[ann.id].action == "Rejected face 1; no other face of Ann"
    assert found[ben.id].by == records.DecidedBy.RECOGNITION
