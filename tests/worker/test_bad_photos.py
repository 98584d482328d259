"""Odd classroom photos reaching the worker: no faces, many faces, rotated, tiny faces, a corrupt file.
Each ends in a clear state; one bad photo never sinks the others."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    SessionPhoto,
    SessionPhotoStatus,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store
from tests.conftest import require_facedata
from tests.factories import enroll_all, seed_course

pytestmark = pytest.mark.facedata


@pytest.fixture(scope="module")
def engine():
    from attendance_worker.engine import get_engine

    return get_engine()


def _jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


def _run(engine, session_id: int):
    from attendance_worker.classroom_photos import process_session

    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        outcome = process_session(s, make_store(settings), engine, session_id, lambda p, m: None)
    with session_scope(settings.sqlalchemy_url) as s:
        photos = {
            p.original_filename: p for p in s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        }
        faces = {
            name: s.scalars(
                select(DetectedFace).where(DetectedFace.session_photo_id == p.id).order_by(DetectedFace.face_index)
            ).all()
            for name, p in photos.items()
        }
        records = {
            r.student_id: r.status
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == session_id))
        }
    return outcome, photos, faces, records


def _grid_of_faces(data, n: int, cell: int = 120) -> Image.Image:
    people = sorted((data / "lfw" / "distractors_single_image").glob("*.jpg"))[:n]
    cols = int(np.ceil(np.sqrt(n * 4 / 3)))
    rows = int(np.ceil(n / cols))
    canvas = Image.new("RGB", (cols * cell, rows * cell), (200, 200, 200))
    for i, path in enumerate(people):
        face = Image.open(path).convert("RGB").crop((60, 50, 190, 200)).resize((cell - 10, cell - 10))
        canvas.paste(face, ((i % cols) * cell + 5, (i // cols) * cell + 5))
    return canvas


def test_no_faces_many_faces_rotation_and_corruption(engine):
    data = require_facedata()
    group = data / "groups" / "obama_biden"
    two = Image.open(group / "class" / "two_people.jpg").convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 8  # stored rotated: the viewer turns it 90 degrees back
    rotated = _jpeg(two.transpose(Image.Transpose.ROTATE_270), exif=exif)
    good = _jpeg(two)
    ids = seed_course(
        {n: sorted((group / "enroll" / n).glob("*.jpg")) for n in ("Barack_Obama", "Joe_Biden")},
        [
            ("empty_wall.jpg", _jpeg(Image.new("RGB", (1280, 960), (180, 170, 160)))),
            ("crowd.jpg", _jpeg(_grid_of_faces(data, 150))),
            ("rotated.jpg", rotated),
            ("corrupt.jpg", good[: len(good) // 3]),
        ],
    )
    enroll_all(engine, ids["students"].values())
    outcome, photos, faces, records = _run(engine, ids["session"])

    assert photos["empty_wall.jpg"].status == SessionPhotoStatus.DONE and faces["empty_wall.jpg"] == []
    crowd = faces["crowd.jpg"]
    assert photos["crowd.jpg"].status == SessionPhotoStatus.DONE
    assert len(crowd) >= 140, len(crowd)
    wrong = [(f.decision.value, round(f.similarity, 3)) for f in crowd if f.decision != FaceDecision.UNKNOWN]
    assert not [w for w in wrong if w[0] == "present"], wrong  # a stranger is never marked present
    rot = photos["rotated.jpg"]
    assert (rot.width, rot.height) == two.size  # boxes are in the photo as it is meant to be seen
    assert {f.student_id for f in faces["rotated.jpg"] if f.student_id} == set(ids["students"].values())
    corrupt = photos["corrupt.jpg"]
    assert corrupt.status == SessionPhotoStatus.FAILED and "corrupt.jpg" in (corrupt.error or "")
    assert outcome.failed_photos == 1
    assert set(records.values()) == {AttendanceStatus.PRESENT}


def test_tiny_faces_are_not_guessed(engine):
    data = require_facedata()
    group = data / "groups" / "obama_biden"
    two = Image.open(group / "class" / "two_people.jpg").convert("RGB")
    tiny = two.resize((two.width // 12, two.height // 12))  # faces about 10 px wide
    canvas = Image.new("RGB", (1280, 720), (120, 120, 120))
    canvas.paste(tiny, (600, 300))
    ids = seed_course(
        {n: sorted((group / "enroll" / n).glob("*.jpg")) for n in ("Barack_Obama", "Joe_Biden")},
        [("tiny.jpg", _jpeg(canvas))],
    )
    enroll_all(engine, ids["students"].values())
    _outcome, _photos, faces, records = _run(engine, ids["session"])
    assert all(f.decision != FaceDecision.PRESENT for f in faces["tiny.jpg"])
    assert set(records.values()) == {AttendanceStatus.ABSENT}
