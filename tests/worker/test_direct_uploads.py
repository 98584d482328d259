"""Direct uploads, the worker's half (attendance_worker.direct_uploads): each object the browser put in the bucket is
checked by content with the same refusals as a posted photo, then moved under its final prefix; a refused one is
deleted and nothing points at it. Rows are made through the web's sign and register, against moto's S3 server."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.images import ImageRejected
from attendance_shared.models import PhotoStatus, SessionPhoto, StudentPhoto
from attendance_shared.refusals import PortraitRefusal
from attendance_shared.settings import get_settings
from attendance_shared.storage import S3PhotoStore
from attendance_worker.direct_uploads import adopt_session_photo
from attendance_worker.enrollment import enroll_photo
from tests import s3_direct
from tests.s3_direct import announce, post_to_s3

s3_bucket = s3_direct.s3_bucket  # the fixture
JSON = {"Accept": "application/json"}


@pytest.fixture()
def app(s3_bucket, database):
    from attendance_web import create_app

    get_settings.cache_clear()
    return create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, "JPEG")
    return buf.getvalue()


def _classroom(tc, name: str, data: bytes, sent: bytes | None = None) -> int:
    course = tc.create_course("Physics")
    (signed,) = tc.client.post(f"/courses/{course}/sessions/sign", json={"files": [announce(name, data)]}).json[
        "uploads"
    ]
    assert post_to_s3(signed, sent if sent is not None else data).status_code == 204
    r = tc.client.post(
        f"/courses/{course}/sessions/register",
        data={"date": "2026-12-01", "ticket": [signed["ticket"]]},
        headers=JSON,
    )
    assert r.status_code == 201, r.data
    return int(r.json["session_id"])


def test_a_good_photo_is_moved_under_classroom_photos(teacher, s3_bucket, jobs_not_sent) -> None:
    photo = _jpeg()
    session_id = _classroom(teacher, "board.jpg", photo)
    store = S3PhotoStore(get_settings())
    with session_scope(get_settings().sqlalchemy_url) as s:
        row = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        assert row is not None
        assert adopt_session_photo(s, store, row) == photo
        assert row.storage_key is not None and row.storage_key.startswith("classroom_photos/")
        assert (row.width, row.height, row.content_type) == (64, 48, "image/jpeg")
        assert s3_bucket.keys() == [row.storage_key]  # the temp object is gone


def test_a_file_that_is_not_a_photo_is_refused_in_the_usual_words(teacher, s3_bucket, jobs_not_sent) -> None:
    notes = b"just some notes, not a photo"
    session_id = _classroom(teacher, "notes.jpg", notes)
    store = S3PhotoStore(get_settings())
    with session_scope(get_settings().sqlalchemy_url) as s:
        row = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        assert row is not None
        with pytest.raises(ImageRejected) as info:
            adopt_session_photo(s, store, row)
        assert str(info.value) == "notes.jpg is not a photo we can read. Please upload a JPEG, PNG, WebP or HEIC image."
        assert row.storage_key is None
    assert s3_bucket.keys() == []


def test_other_bytes_than_announced_are_refused(teacher, s3_bucket, jobs_not_sent) -> None:
    photo = _jpeg()
    other = bytearray(photo)
    other[200] ^= 0xFF  # same size, not the same bytes
    session_id = _classroom(teacher, "board.jpg", photo, sent=bytes(other))
    with session_scope(get_settings().sqlalchemy_url) as s:
        row = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        assert row is not None
        with pytest.raises(ImageRejected, match=r"board\.jpg is incomplete"):
            adopt_session_photo(s, S3PhotoStore(get_settings()), row)
    assert s3_bucket.keys() == []


def test_a_portrait_that_is_not_a_photo_is_refused_with_its_code(teacher, s3_bucket, jobs_not_sent) -> None:
    course = teacher.create_course("Physics")
    student = teacher.add_student(course, "Ann", "1")
    data = b"%PDF-1.4 not a portrait"
    r = teacher.client.post(f"/students/{student}/photos/sign", json={"files": [announce("ann.jpg", data)]})
    (signed,) = r.json["uploads"]
    post_to_s3(signed, data)
    teacher.client.post(f"/students/{student}/photos/register", data={"ticket": [signed["ticket"]]}, headers=JSON)
    with session_scope(get_settings().sqlalchemy_url) as s:
        row = s.scalar(select(StudentPhoto).where(StudentPhoto.student_id == student))
        assert row is not None
        enroll_photo(s, S3PhotoStore(get_settings()), None, row.id)  # type: ignore[arg-type] (refused before the engine)
        s.commit()
        assert row.status == PhotoStatus.REJECTED and row.refusal == PortraitRefusal.UNREADABLE
        assert row.reason == "ann.jpg is not a photo we can read. Please upload a JPEG, PNG, WebP or HEIC image."
    assert s3_bucket.keys() == []


def test_a_phone_photo_is_stored_upright_without_gps_or_device(teacher, s3_bucket, jobs_not_sent) -> None:
    from tests.shared.test_photo_metadata import carries_nothing, phone_photo

    photo = phone_photo()
    session_id = _classroom(teacher, "room.jpg", photo)
    store = S3PhotoStore(get_settings())
    with session_scope(get_settings().sqlalchemy_url) as s:
        row = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == session_id))
        assert row is not None
        adopt_session_photo(s, store, row)
        stored = carries_nothing(store.get(row.storage_key))
        assert stored.size == (row.width, row.height) == (300, 400)  # upright, as the phone showed it
        assert row.content_sha256 == announce("room.jpg", photo)["sha256"]  # of the bytes the browser sent
    assert s3_bucket.keys() == [row.storage_key]
