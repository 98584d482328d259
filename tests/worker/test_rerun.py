"""What a second job on a session keeps: the teacher's face reviews (a new photo leaves the others alone; a re-run
carries each verdict to the face at the same place), a mark made while the job writes, and one set of faces when
two jobs run at once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, select, update

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceEmbedding,
    FaceReview,
    Job,
    JobKind,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store
from tests.conftest import require_facedata
from tests.factories import enroll_all, seed_course, session_counts

pytestmark = pytest.mark.facedata

OBAMA, BIDEN = "Barack_Obama", "Joe_Biden"


@pytest.fixture(scope="module")
def engine():
    from attendance_worker.engine import get_engine

    return get_engine()


@pytest.fixture()
def course(engine) -> dict:
    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course(
        {n: sorted((group / "enroll" / n).glob("*.jpg")) for n in (OBAMA, BIDEN)},
        [("two_people.jpg", (group / "class" / "two_people.jpg").read_bytes())],
    )
    enroll_all(engine, ids["students"].values())
    ids["group"] = group
    return ids


def _run(engine, session_id: int) -> str:
    """One attendance job, as the task runs it (attendance_worker.tasks): its row started, the session processed,
    the row finished; the worker's merge tells a re-run from the first run by the jobs that succeeded before."""
    from attendance_worker import job_state
    from attendance_worker.classroom_photos import process_session

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        teacher_id = s.get(AttendanceSession, session_id).course.teacher_id
        job = Job(teacher_id=teacher_id, kind=JobKind.ATTENDANCE, subject_id=session_id)
        s.add(job)
        s.flush()
        job_id = job.id
    assert job_state.begin(job_id) is not None
    with session_scope(settings.sqlalchemy_url) as s:
        outcome = process_session(s, make_store(settings), engine, session_id, lambda p, m: None)
        assert outcome is not None
        summary = outcome.summary()
    job_state.finish(job_id, summary)
    return summary


def _faces(session_id: int) -> list[DetectedFace]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return list(
            s.scalars(
                select(DetectedFace)
                .join(SessionPhoto)
                .where(SessionPhoto.session_id == session_id)
                .order_by(DetectedFace.session_photo_id, DetectedFace.face_index)
            )
        )


def _record(session_id: int, student_id: int) -> tuple[AttendanceStatus, RecordSource, int | None]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        rec = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == student_id
            )
        )
        return rec.status, rec.source, rec.detected_face_id


def _review(face_id: int, **values) -> None:
    """What the review page writes (sessions.corrections), done directly: the worker never imports the web."""
    with session_scope(get_settings().sqlalchemy_url) as s:
        face = s.get(DetectedFace, face_id)
        for name, value in values.items():
            setattr(face, name, value)
        if values.get("review") == FaceReview.ASSIGNED:
            s.add(
                FaceEmbedding(
                    student_id=face.student_id,
                    detected_face_id=face.id,
                    model_id=face.model_id,
                    dim=len(face.embedding) // 4,
                    vector=face.embedding,
                )
            )
            rec = s.scalar(
                select(AttendanceRecord).where(
                    AttendanceRecord.session_id == face.photo.session_id,
                    AttendanceRecord.student_id == face.student_id,
                )
            )
            rec.source, rec.detected_face_id = RecordSource.MANUAL, face.id


def _face_of(faces: list[DetectedFace], student_id: int) -> DetectedFace:
    return next(f for f in faces if f.student_id == student_id)


def test_a_new_photo_leaves_the_review_of_the_others_alone(engine, course):
    session_id, obama = course["session"], course["students"][OBAMA]
    _run(engine, session_id)
    first = _faces(session_id)
    _review(_face_of(first, obama).id, review=FaceReview.ASSIGNED)
    with session_scope(get_settings().sqlalchemy_url) as s:  # the teacher adds a second photo
        data = (course["group"] / "class" / "obama_and_biden.jpg").read_bytes()
        key = f"classroom_photos/test/{session_id}/second.jpg"
        make_store(get_settings()).put(key, data, "image/jpeg")
        s.add(
            SessionPhoto(
                session_id=session_id,
                storage_key=key,
                original_filename="obama_and_biden.jpg",
                content_type="image/jpeg",
                content_sha256="second",
                width=1,
                height=1,
            )
        )
    _run(engine, session_id)
    after = _faces(session_id)
    kept = [f for f in after if f.session_photo_id == first[0].session_photo_id]
    assert [(f.id, f.box) for f in kept] == [(f.id, f.box) for f in first]  # not detected again
    assert _face_of(kept, obama).review == FaceReview.ASSIGNED
    assert len(after) > len(first)
    assert session_counts(session_id)[2] == 2


def test_a_rerun_carries_each_verdict_to_the_face_at_the_same_place(engine, course):
    session_id, obama, biden = course["session"], course["students"][OBAMA], course["students"][BIDEN]
    _run(engine, session_id)
    first = _faces(session_id)
    obama_face, biden_face = _face_of(first, obama), _face_of(first, biden)
    _review(obama_face.id, review=FaceReview.ASSIGNED)
    _review(biden_face.id, review=FaceReview.REJECTED, student_id=None, candidate_student_id=biden)
    with session_scope(get_settings().sqlalchemy_url) as s:  # "Re-run recognition" (start_recognition)
        s.execute(update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(status="queued"))
    summary = _run(engine, session_id)
    # "Last run" counts the faces as the review page does (records.face_kind): the rejected face is not unknown
    assert "1 rejected by you" in summary and "unknown" not in summary, summary
    after = _faces(session_id)
    assert {f.id for f in after}.isdisjoint({f.id for f in first})  # the faces were detected again
    new_obama = _face_of(after, obama)
    assert new_obama.review == FaceReview.ASSIGNED and new_obama.box == obama_face.box
    new_biden = next(f for f in after if f.box == biden_face.box)
    assert new_biden.review == FaceReview.REJECTED and new_biden.student_id is None
    with session_scope(get_settings().sqlalchemy_url) as s:
        linked = s.scalars(select(FaceEmbedding.detected_face_id).where(FaceEmbedding.student_id == obama)).all()
    assert new_obama.id in linked  # a later "reject" still finds the face's gallery embedding
    assert _record(session_id, obama) == (AttendanceStatus.PRESENT, RecordSource.MANUAL, new_obama.id)
    assert _record(session_id, biden)[0] == AttendanceStatus.ABSENT  # the teacher said that face is not Biden


def test_a_mark_made_while_the_job_writes_is_kept(engine, course, monkeypatch):
    """The teacher marks Biden excused after the job read the records and before it writes them."""
    from attendance_shared.db import session_factory
    from attendance_worker import classroom_photos as attendance

    session_id, biden = course["session"], course["students"][BIDEN]
    _run(engine, session_id)
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.execute(update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(status="queued"))
    merging, teacher_acted = [], []
    merge_records = attendance.merge_records

    def merge_and_note(*args):
        merging.append(True)
        return merge_records(*args)

    monkeypatch.setattr(attendance, "merge_records", merge_and_note)

    def teacher_marks_excused(state) -> None:
        table = getattr(state.statement, "table", None)
        if (
            merging
            and state.is_update
            and not teacher_acted
            and table is not None
            and table.name == "attendance_records"
        ):
            teacher_acted.append(True)
            with session_factory(get_settings().sqlalchemy_url)() as other:
                other.execute(
                    update(AttendanceRecord)
                    .where(AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == biden)
                    .values(status=AttendanceStatus.EXCUSED, source=RecordSource.MANUAL)
                )
                other.commit()

    from sqlalchemy.orm import Session

    event.listen(Session, "do_orm_execute", teacher_marks_excused)
    try:
        _run(engine, session_id)
    finally:
        event.remove(Session, "do_orm_execute", teacher_marks_excused)
    assert teacher_acted
    assert _record(session_id, biden)[:2] == (AttendanceStatus.EXCUSED, RecordSource.MANUAL)


def test_two_jobs_on_one_session_at_once_leave_one_set_of_faces(engine, course):
    session_id = course["session"]
    results: list[str] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            results.append(_run(engine, session_id))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    faces, records, done = session_counts(session_id)
    assert (records, done) == (2, 1) and faces >= 2
    assert "no new photos to recognise" in " ".join(results)  # the second found the first one's work done
    assert all(r.startswith("2 of 2 students present") for r in results)
    with session_scope(get_settings().sqlalchemy_url) as s:
        statuses = s.scalars(select(SessionPhoto.status).where(SessionPhoto.session_id == session_id)).all()
    assert statuses == [SessionPhotoStatus.DONE]


def test_a_rerun_clicked_while_the_job_runs_leaves_the_photo_for_the_next_job(engine, course, monkeypatch):
    """The click sets the photos back to queued while this job detects: this job's result (from the gallery as it
    was before the click) must not mark the photo done, or the click's job would skip it."""
    session_id = course["session"]
    analyze = engine.analyze

    def analyze_then_click(*args, **kwargs):
        result = analyze(*args, **kwargs)
        with session_scope(get_settings().sqlalchemy_url) as s:  # start_recognition, from the web, meanwhile
            s.execute(update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(status="queued"))
        return result

    monkeypatch.setattr(engine, "analyze", analyze_then_click)
    _run(engine, session_id)
    monkeypatch.setattr(engine, "analyze", analyze)
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.scalars(select(SessionPhoto.status).where(SessionPhoto.session_id == session_id)).all() == [
            SessionPhotoStatus.QUEUED
        ]
    assert "Recognised 1 photo(s)" in _run(engine, session_id)  # the click's job does it again
    assert session_counts(session_id)[2] == 1


def test_verdicts_about_students_no_longer_there_are_not_carried(engine, course):
    """A rejection whose student was deleted (candidate now empty) must not spread to whatever face is there;
    an assignment to a student who left the course must not override the new match."""
    from attendance_shared.models import Enrollment

    session_id, obama, biden = course["session"], course["students"][OBAMA], course["students"][BIDEN]
    _run(engine, session_id)
    first = _faces(session_id)
    _review(_face_of(first, biden).id, review=FaceReview.REJECTED, student_id=None, candidate_student_id=None)
    _review(_face_of(first, obama).id, review=FaceReview.ASSIGNED, student_id=biden)
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.execute(
            Enrollment.__table__.delete().where(
                Enrollment.course_id == course["course"], Enrollment.student_id == biden
            )
        )
        s.execute(update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(status="queued"))
    _run(engine, session_id)
    after = _faces(session_id)
    assert [f for f in after if f.review == FaceReview.REJECTED] == []
    assert all(f.student_id != biden for f in after)
    assert _face_of(after, obama).review == FaceReview.NONE


def test_a_photo_purged_before_its_turn_is_failed_in_words(engine, course):
    session_id = course["session"]
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.execute(update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(storage_key=None))
    _run(engine, session_id)
    with session_scope(get_settings().sqlalchemy_url) as s:
        photo = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        assert photo.status == SessionPhotoStatus.FAILED and "retention period" in photo.error


def test_a_student_enrolled_since_is_not_marked_absent_by_a_rerun(engine, course):
    """Enrollments have no date: a re-run (or added photos) must not mark a student who joined the course after
    the lesson absent from it (the course report leaves sessions without a record out of their rate); one
    recognised in a photo of the lesson is still marked present. The first run marks every enrolled student."""
    from attendance_shared.models import Enrollment, Student

    session_id, obama, biden = course["session"], course["students"][OBAMA], course["students"][BIDEN]
    with session_scope(get_settings().sqlalchemy_url) as s:  # Biden joins the course after this lesson
        s.execute(
            Enrollment.__table__.delete().where(
                Enrollment.course_id == course["course"], Enrollment.student_id == biden
            )
        )
    _run(engine, session_id)
    assert _record(session_id, obama)[0] == AttendanceStatus.PRESENT
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.scalar(select(AttendanceRecord).where(AttendanceRecord.student_id == biden)) is None
        newcomer = Student(teacher_id=course["teacher"], name="New Comer", student_number="N1")
        s.add(newcomer)
        s.flush()
        newcomer_id = newcomer.id
        s.add(Enrollment(course_id=course["course"], student_id=newcomer_id))
        s.add(Enrollment(course_id=course["course"], student_id=biden))
        s.execute(update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(status="queued"))
    _run(engine, session_id)  # "Re-run recognition"
    with session_scope(get_settings().sqlalchemy_url) as s:
        records = s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)).all()
        assert sorted((r.student_id, r.status) for r in records) == sorted(
            [(obama, AttendanceStatus.PRESENT), (biden, AttendanceStatus.PRESENT)]
        )  # the newcomer, not in the photo, has no record at all
    with session_scope(get_settings().sqlalchemy_url) as s:  # a new lesson: the first run marks everyone
        photo = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        lesson = AttendanceSession(course_id=course["course"], date=photo.session.date, label="next lesson")
        s.add(lesson)
        s.flush()
        key = f"classroom_photos/test/{lesson.id}/next.jpg"
        make_store(get_settings()).put(key, (course["group"] / "class" / "two_people.jpg").read_bytes(), "image/jpeg")
        s.add(
            SessionPhoto(
                session_id=lesson.id,
                storage_key=key,
                original_filename="two_people.jpg",
                content_type="image/jpeg",
                content_sha256="next",
                width=1,
                height=1,
            )
        )
        lesson_id = lesson.id
    _run(engine, lesson_id)
    assert _record(lesson_id, newcomer_id)[0] == AttendanceStatus.ABSENT
    assert _record(lesson_id, biden)[0] == AttendanceStatus.PRESENT


def test_a_face_rejected_before_the_first_run_ends_does_not_skip_the_other_students(engine, monkeypatch):
    """Ann (Obama), Ben (Biden), Cat and Dan are in the course; in the first job, photo 1 is done with Ann and Ben
    matched and the teacher clicks "Not Ben" on the review page before the job writes the records. That click must
    not make the job take itself for a re-run: Cat and Dan, in no photo, are marked absent like Ben."""
    review = pytest.importorskip("attendance_web.sessions.corrections")
    from attendance_worker import classroom_photos as attendance

    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course(
        {
            OBAMA: sorted((group / "enroll" / OBAMA).glob("*.jpg")),
            BIDEN: sorted((group / "enroll" / BIDEN).glob("*.jpg")),
            "Cat": [],
            "Dan": [],
        },
        [("two_people.jpg", (group / "class" / "two_people.jpg").read_bytes())],
    )
    enroll_all(engine, ids["students"].values())
    session_id, students = ids["session"], ids["students"]
    merge_records = attendance.merge_records
    clicked: list[str] = []

    def teacher_rejects_ben_then_merge(db, att):
        with session_scope(get_settings().sqlalchemy_url) as s:  # the review page, in its own transaction
            ben_face = s.scalar(
                select(DetectedFace)
                .join(SessionPhoto)
                .where(SessionPhoto.session_id == session_id, DetectedFace.student_id == students[BIDEN])
            )
            clicked.append(review.reject_face(s, ben_face, ids["teacher"]).message)
        return merge_records(db, att)

    monkeypatch.setattr(attendance, "merge_records", teacher_rejects_ben_then_merge)
    _run(engine, session_id)
    assert clicked
    assert _record(session_id, students[OBAMA])[0] == AttendanceStatus.PRESENT
    for name in ("Cat", "Dan", BIDEN):
        assert _record(session_id, students[name])[:2] == (AttendanceStatus.ABSENT, RecordSource.AUTO), name
