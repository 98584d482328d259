"""After a model change, one command re-embeds every portrait with the new model; galleries never mix models."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import FaceEmbedding, StudentPhoto
from attendance_shared.settings import get_settings
from tests.conftest import require_facedata
from tests.worker.seed import seed_course

pytestmark = pytest.mark.facedata


def test_reembed_fills_the_new_model_and_prunes_the_old():
    from attendance_worker.engine import get_engine
    from attendance_worker.gallery import course_gallery
    from attendance_worker.reembed import reembed_all

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    ids = seed_course({"Barack_Obama": sorted((group / "enroll" / "Barack_Obama").glob("*.jpg"))}, [])
    student = ids["students"]["Barack_Obama"]
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:  # embeddings of an older model, as after a model change
        for photo_id in s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id == student)):
            vector = np.ones(64, dtype=np.float32) / 8
            s.add(
                FaceEmbedding(
                    student_id=student, student_photo_id=photo_id, model_id="old-model", dim=64, vector=vector.tobytes()
                )
            )
    with session_scope(url) as s:
        assert course_gallery(s, ids["course"], engine.model_id) == {}  # the old vectors are never compared
    outcome = reembed_all(engine)
    assert outcome.embedded >= 2
    assert reembed_all(engine).embedded == 0  # idempotent: nothing left to do
    with session_scope(url) as s:
        gallery = course_gallery(s, ids["course"], engine.model_id)
        assert gallery[str(student)].shape[0] == 2
    reembed_all(engine, prune=True)
    with session_scope(url) as s:
        models = set(s.scalars(select(FaceEmbedding.model_id).where(FaceEmbedding.student_id == student)))
    assert models == {engine.model_id}


def test_attendance_after_a_model_change_embeds_the_class_first():
    """A new worker image with a new pack: the next attendance job embeds the class's portraits itself, so the
    class is not marked absent while nobody has run attendance-reembed yet."""
    from attendance_shared.models import AttendanceRecord, AttendanceStatus, PhotoStatus
    from attendance_shared.storage import make_store
    from attendance_worker.attendance import process_session
    from attendance_worker.engine import get_engine

    engine = get_engine()
    group = require_facedata() / "groups" / "obama_biden"
    photo = group / "class" / "two_people.jpg"
    ids = seed_course(
        {name: sorted((group / "enroll" / name).glob("*.jpg")) for name in ("Barack_Obama", "Joe_Biden")},
        [(photo.name, photo.read_bytes())],
    )
    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:  # accepted under an older model, nothing for this one
        for p in s.scalars(select(StudentPhoto).where(StudentPhoto.student_id.in_(ids["students"].values()))):
            p.status = PhotoStatus.ACCEPTED
            s.add(
                FaceEmbedding(
                    student_id=p.student_id,
                    student_photo_id=p.id,
                    model_id="old-model",
                    dim=64,
                    vector=(np.ones(64, dtype=np.float32) / 8).tobytes(),
                )
            )
    steps: list[str] = []
    with session_scope(settings.sqlalchemy_url) as s:
        process_session(s, make_store(settings), engine, ids["session"], lambda _p, message: steps.append(message))
    assert any("current face model" in m for m in steps)
    with session_scope(settings.sqlalchemy_url) as s:
        statuses = set(s.scalars(select(AttendanceRecord.status).where(AttendanceRecord.session_id == ids["session"])))
        current = s.scalar(
            select(func.count())
            .select_from(FaceEmbedding)
            .where(FaceEmbedding.student_id.in_(ids["students"].values()), FaceEmbedding.model_id == engine.model_id)
        )
    assert statuses == {AttendanceStatus.PRESENT}
    assert current == 4
