"""The teacher's students of other courses are outsiders of a session: never marked, never named, but a face that
looks more like one of them is not given to a course student (a sibling in another class)."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    PhotoStatus,
    School,
    SessionPhoto,
    Student,
    StudentPhoto,
    Teacher,
)
from attendance_shared.settings import get_settings
from tests.conftest import require_facedata
from tests.factories import seed_course

pytestmark = pytest.mark.facedata


def _student_with_embeddings(s, engine, teacher_id: int, name: str, portraits: list[Path], model_id: str) -> int:
    """A student of `teacher_id` in no course, with one embedding per portrait (made by the engine, or fake)."""
    st = Student(teacher_id=teacher_id, name=name, student_number=uuid.uuid4().hex[:8])
    s.add(st)
    s.flush()
    for path in portraits:
        photo = StudentPhoto(
            student_id=st.id,
            storage_key=f"student_photos/{teacher_id}/{st.id}/{uuid.uuid4().hex}.jpg",
            original_filename=path.name,
            content_type="image/jpeg",
            width=1,
            height=1,
        )
        s.add(photo)
        s.flush()
        vector = engine.enroll(path.read_bytes(), path.name).embedding if model_id == engine.model_id else None
        if vector is None:
            vector = np.ones(64, dtype=np.float32) / 8
        s.add(
            FaceEmbedding(
                student_id=st.id,
                student_photo_id=photo.id,
                model_id=model_id,
                dim=int(vector.size),
                vector=np.asarray(vector, np.float32).tobytes(),
            )
        )
    return st.id


def test_outsiders_are_the_teachers_other_students_of_this_model_only():
    from attendance_worker.engine import get_engine
    from attendance_worker.gallery import course_gallery, outsider_gallery

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    biden = sorted((group / "enroll" / "Joe_Biden").glob("*.jpg"))
    ids = seed_course({"Barack_Obama": []}, [])
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:
        mine = _student_with_embeddings(s, engine, ids["teacher"], "Joe Biden", biden, engine.model_id)
        stale = _student_with_embeddings(s, engine, ids["teacher"], "Old Model", biden[:1], "old-model")
        other = Teacher(
            email=f"{uuid.uuid4().hex[:8]}@school.example.org", name="Other", password_hash="x", school=School(name="S")
        )
        s.add(other)
        s.flush()
        theirs = _student_with_embeddings(s, engine, other.id, "Their Student", biden[:1], engine.model_id)
    with session_scope(url) as s:
        outsiders = outsider_gallery(s, ids["course"], engine.model_id)
        members = course_gallery(s, ids["course"], engine.model_id)
    assert set(outsiders) == {str(mine)}  # not the course's student, not another teacher's, not another model's
    assert outsiders[str(mine)].shape == (len(biden), engine.recognizer.dim)
    assert str(stale) not in outsiders and str(theirs) not in outsiders and str(mine) not in members


def test_a_look_alike_of_another_course_keeps_the_face_from_being_given_to_a_course_student():
    """A course student whose portrait is Joe Biden's (a twin, say: similarity 0.65 to the face in the photo) and
    the real Joe Biden in another of the teacher's courses (0.97): Biden's face in this course's photo was
    "present" for the twin; now it is unknown, and the twin is absent."""
    from attendance_shared.storage import make_store
    from attendance_worker.classroom_photos import process_session
    from attendance_worker.engine import get_engine
    from attendance_worker.gallery import course_gallery

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    photo = group / "class" / "two_people.jpg"
    enroll = group / "enroll"
    students = {
        "Barack_Obama": sorted((enroll / "Barack_Obama").glob("*.jpg")),
        "Twin": [enroll / "Joe_Biden" / "biden2.jpg"],
    }
    ids = seed_course(students, [(photo.name, photo.read_bytes())])
    obama, twin = ids["students"]["Barack_Obama"], ids["students"]["Twin"]
    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:  # accepted portraits: the job embeds the course's students
        for p in s.scalars(select(StudentPhoto).where(StudentPhoto.student_id.in_([obama, twin]))):
            p.status = PhotoStatus.ACCEPTED
        biden = _student_with_embeddings(
            s, engine, ids["teacher"], "Joe Biden", [enroll / "Joe_Biden" / "biden.jpg"], engine.model_id
        )
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, ids["session"], lambda _p, _m: None)
        course_only = engine.match(engine.analyze(photo.read_bytes(), photo.name).faces, course_gallery(
            s, ids["course"], engine.model_id))  # fmt: skip
    assert {d.person for d in course_only if d.decision == "present"} == {str(obama), str(twin)}  # before
    with session_scope(settings.sqlalchemy_url) as s:
        faces = list(
            s.scalars(
                select(DetectedFace)
                .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
                .where(SessionPhoto.session_id == ids["session"])
            )
        )
        rows = s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == ids["session"]))
        records = {r.student_id: r.status for r in rows}
    assert records == {obama: AttendanceStatus.PRESENT, twin: AttendanceStatus.ABSENT}  # no record for the outsider
    assert [f.student_id for f in faces if f.decision == FaceDecision.PRESENT] == [obama]
    assert sorted(f.decision.value for f in faces) == ["present", "unknown"]  # Biden's face: someone else
    assert biden not in {f.student_id for f in faces} | {f.candidate_student_id for f in faces}  # never named
