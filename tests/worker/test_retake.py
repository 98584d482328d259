"""Faces too small to recognise: a real classroom photo downscaled until its faces are under the limit is flagged
face by face (DetectedFace.legibility) and marks nobody present; the original, added to the same session as the
closer photo the review page asks for, marks both students present."""

from __future__ import annotations

import io
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    FaceLegibility,
    SessionPhoto,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store
from attendance_worker.engine.matching import RETAKE_FACE_PX
from tests.conftest import require_facedata
from tests.factories import enroll_all, seed_course
from tests.worker.test_rerun import _run

pytestmark = pytest.mark.facedata

OBAMA, BIDEN = "Barack_Obama", "Joe_Biden"
# two_people.jpg is 1126 x 661 with faces of about 155 px: 13 and 16 px at this scale (at 18 px one is still named)
SCALE = 0.10


@pytest.fixture(scope="module")
def engine():
    from attendance_worker.engine import get_engine

    return get_engine()


def _downscaled(data: bytes, scale: float) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    small = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=90)
    return out.getvalue()


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


def _statuses(session_id: int) -> dict[int, AttendanceStatus]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        rows = s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id))
        return {r.student_id: r.status for r in rows}


def test_faces_too_small_are_flagged_and_the_closer_photo_marks_them_present(engine):
    group = require_facedata() / "groups" / "obama_biden"
    original = (group / "class" / "two_people.jpg").read_bytes()
    ids = seed_course(
        {n: sorted((group / "enroll" / n).glob("*.jpg")) for n in (OBAMA, BIDEN)},
        [("class_from_the_door.jpg", _downscaled(original, SCALE))],
    )
    enroll_all(engine, ids["students"].values())
    session_id, students = ids["session"], set(ids["students"].values())

    _run(engine, session_id)
    small = _faces(session_id)
    assert len(small) == 2, [(f.face_px, f.decision) for f in small]
    assert all(f.face_px < RETAKE_FACE_PX for f in small), [f.face_px for f in small]
    # Every face the engine could not name is flagged too small; a face named all the same is not (the smaller of
    # the two, 13 px, is far from any match: at least one student is left for the closer photo).
    assert [f.legibility for f in small] == [
        None if f.decision == FaceDecision.PRESENT else FaceLegibility.TOO_SMALL for f in small
    ]
    left = [f for f in small if f.decision != FaceDecision.PRESENT]
    assert left, [(f.face_px, f.decision, f.similarity) for f in small]
    first = _statuses(session_id)
    assert sum(first.get(sid) == AttendanceStatus.PRESENT for sid in students) <= len(small) - len(left)

    with session_scope(get_settings().sqlalchemy_url) as s:  # "add it to this session", as the upload does
        key = f"classroom_photos/test/{session_id}/{uuid.uuid4().hex}.jpg"
        make_store(get_settings()).put(key, original, "image/jpeg")
        s.add(
            SessionPhoto(
                session_id=session_id,
                storage_key=key,
                original_filename="closer.jpg",
                content_type="image/jpeg",
                content_sha256=uuid.uuid4().hex,
                width=1,
                height=1,
            )
        )
    _run(engine, session_id)
    assert _statuses(session_id) == dict.fromkeys(students, AttendanceStatus.PRESENT)
    closer = [f for f in _faces(session_id) if f.session_photo_id != small[0].session_photo_id]
    assert {f.student_id for f in closer} == students
    assert all(f.legibility is None and f.decision == FaceDecision.PRESENT for f in closer)
