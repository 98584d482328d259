"""After a model change, one command re-embeds every portrait with the new model; galleries never mix models."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

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
