"""Uploaded portraits and classroom photos are stored upright and without their EXIF (GPS position, device), on
disk and in S3; their duplicate check still knows the file the teacher chose."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceSession, SessionPhoto, StudentPhoto
from attendance_shared.settings import Settings, get_settings
from attendance_shared.storage import S3PhotoStore
from tests.shared.test_photo_metadata import carries_nothing, phone_photo


@pytest.fixture(params=["disk", "s3"])
def store(request, app, monkeypatch):
    if request.param == "s3":
        import boto3

        url = request.getfixturevalue("s3_server")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket="attendance-exif")
        s3 = S3PhotoStore(Settings(S3_BUCKET="attendance-exif", S3_ENDPOINT_URL=url, AWS_REGION="us-east-1"))
        monkeypatch.setitem(app.extensions, "attendance.store", s3)
    return app.extensions["attendance.store"]


def _stored(store, row) -> Image.Image:
    img = carries_nothing(store.get(row.storage_key))
    assert img.size == (row.width, row.height) == (300, 400)  # upright, as the phone showed it
    assert tuple(img.convert("RGB").getpixel((299, 0)))[2] > 200
    return img


def test_a_phone_photo_is_stored_upright_without_gps_or_device(teacher, store, jobs_not_sent):
    data = phone_photo()
    course = teacher.create_course("Privacy")
    student = teacher.add_student(course, "Ann Lee", "p-1")
    teacher.upload_portraits(student, (data, "ann.jpg"))
    assert teacher.take_attendance(course, (data, "room.jpg")) is not None
    with session_scope(get_settings().sqlalchemy_url) as s:
        portrait = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).one()
        photo = s.scalars(
            select(SessionPhoto).join(AttendanceSession).where(AttendanceSession.course_id == course)
        ).one()
        for row in (portrait, photo):
            _stored(store, row)
            assert row.content_type == "image/jpeg"
            assert row.content_sha256 == hashlib.sha256(data).hexdigest()  # of the file chosen: duplicates found
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(data), "ann-again.jpg")]},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert len(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).all()) == 1


def test_a_portrait_imported_from_a_roster_zip_is_stored_without_its_metadata(teacher, store, jobs_not_sent):
    import re
    import zipfile

    data = phone_photo()
    course = teacher.create_course("Roster privacy")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("2001.jpg", data)
    r = teacher.client.post(
        f"/courses/{course}/roster/imports",
        data={
            "roster_csv": (io.BytesIO(b"student_number,name,email\r\n2001,Bo Chen,\r\n"), "class.csv"),
            "photos_zip": (io.BytesIO(archive.getvalue()), "photos.zip"),
        },
        content_type="multipart/form-data",
    )
    import_id = re.search(r"/roster-imports/([0-9a-f]{32})$", r.location or "")
    assert r.status_code == 303 and import_id, r.data[:500]
    assert teacher.client.post(f"/roster-imports/{import_id.group(1)}/confirm").status_code == 303
    with session_scope(get_settings().sqlalchemy_url) as s:
        portrait = s.scalars(select(StudentPhoto).where(StudentPhoto.roster_import_id == import_id.group(1))).one()
        _stored(store, portrait)
        assert portrait.content_sha256 == hashlib.sha256(data).hexdigest()
