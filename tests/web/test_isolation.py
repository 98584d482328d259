"""Isolation: every route that takes an id answers 404 to a teacher who does not own it."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from flask import url_for
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AccountLink,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    Job,
    SessionPhoto,
    StudentPhoto,
    Teacher,
)
from tests.conftest import TeacherClient


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture()
def owned(app, teacher_factory):
    """Alice's course, student, photos, session, face and job; Bob will try to reach each of them."""
    alice = teacher_factory("Alice")
    course = alice.create_course("Chemistry")
    student = alice.add_student(course, "Carl", "S-1")
    alice.upload_portraits(student, (_jpeg(), "carl.jpg"))
    job = alice.take_attendance(course, (_jpeg(), "room.jpg"))
    r = alice.client.post(
        f"/courses/{course}/roster/imports",
        data={
            "roster_csv": (io.BytesIO(b"student_number,name\n7,Dora\n"), "class.csv"),
            "photos_zip": _portraits_zip(),
        },
        content_type="multipart/form-data",
    )
    import_id = r.location.rsplit("/", 1)[-1]
    from tests.oneroster_files import school_set

    r = alice.client.post(
        "/school/sis/imports",
        data={"roster_zip": (io.BytesIO(school_set(students=1).to_zip()), "oneroster.zip")},
        content_type="multipart/form-data",
    )
    sis_import_id = r.location.rsplit("/", 1)[-1]
    r = alice.client.post("/school/invitations", data={"email": f"new-{import_id}@school.example.org"})
    assert r.status_code == 201, r.data[:300]
    url = app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url
    with session_scope(url) as s:
        alice_id = s.scalar(select(Teacher.id).where(Teacher.email == alice.email))
        link_id = s.scalar(select(AccountLink.id).where(AccountLink.created_by_id == alice_id))
        sphoto = s.scalar(select(StudentPhoto).where(StudentPhoto.student_id == student))
        cphoto = s.scalar(
            select(SessionPhoto)
            .join(SessionPhoto.session)
            .where(SessionPhoto.original_filename == "room.jpg")
            .order_by(SessionPhoto.id.desc())
        )
        face = DetectedFace(
            session_photo_id=cphoto.id,
            face_index=0,
            box=[0, 0, 1, 1],
            detection_score=0.9,
            decision=FaceDecision.UNKNOWN,
            model_id="m",
        )
        s.add(face)
        s.flush()
        learned = FaceEmbedding(student_id=student, detected_face_id=face.id, model_id="m", dim=1, vector=b"\0" * 4)
        s.add(learned)
        s.flush()
        cphoto.annotated_key = cphoto.storage_key
        ids = {
            "course_id": course,
            "student_id": student,
            "photo_id": None,
            "session_id": cphoto.session_id,
            "job_id": job,
            "face_id": face.id,
            "embedding_id": learned.id,
            "import_id": import_id,
            "sis_import_id": sis_import_id,  # the school admin's OneRoster upload (sis_import)
            "teacher_id": alice_id,  # another school's teacher (each sign-up here opens a school of its own)
            "link_id": link_id,
            "key": 1,  # the roster preview's portrait (roster.portrait, _portraits_zip)
            "_student_photo": sphoto.id,
            "_session_photo": cphoto.id,
        }
        assert s.get(Job, job) is not None
    return alice, ids


def _portraits_zip() -> tuple[io.BytesIO, str]:
    """One portrait, the ZIP's first entry: roster.portrait's key 1 (its offset, 0, plus one)."""
    import zipfile

    image, archive = io.BytesIO(), io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(image, "JPEG")
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("7.jpg", image.getvalue())
    return io.BytesIO(archive.getvalue()), "portraits.zip"


def _routes(app):
    """Every web route that takes an id. /api/v1 routes take a bearer token instead of the session cookie;
    tests/web/test_api.py walks each of them the same way."""
    for rule in app.url_map.iter_rules():
        if not rule.arguments or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        if rule.arguments == {"token"}:  # single-use links open by their secret, not by owner: tests/web/test_school.py
            continue
        yield rule


def _fill(rule, ids):
    values = {}
    for arg in rule.arguments:
        if arg == "photo_id":
            values[arg] = ids["_student_photo"] if rule.endpoint.startswith("students.") else ids["_session_photo"]
        else:
            values[arg] = ids[arg]
    return url_for(rule.endpoint, **values)


def _colleague_of(app, alice) -> TeacherClient:
    """A teacher Alice (her school's admin) invited into her own school; no course of hers is shared with them."""
    address = f"colleague-{uuid.uuid4().hex[:8]}@school.example.org"
    made = alice.client.post("/school/invitations", data={"email": address, "role": "teacher"})
    link = re.search(rb'value="http://localhost(/join/[^"]+)"', made.data)
    assert made.status_code == 201 and link, made.data[:300]
    password = "correct horse battery"
    joined = app.test_client().post(
        link.group(1).decode(), data={"name": "Col", "password": password, "confirm": password}
    )
    assert joined.status_code == 303
    colleague = TeacherClient(app.test_client(), address, password)
    assert colleague.client.post("/login", data={"email": address, "password": password}).status_code == 302
    return colleague


@pytest.mark.parametrize("who", ["another school's teacher", "a teacher of the same school, not shared"])
def test_every_id_route_is_404_for_another_teacher(app, owned, teacher_factory, who):
    alice, ids = owned
    bob = teacher_factory("Bob") if who.startswith("another") else _colleague_of(app, alice)
    checked = []
    with app.test_request_context():
        urls = [(rule, _fill(rule, ids)) for rule in _routes(app)]
    for rule, url in urls:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            r = bob.client.open(url, method=method, data={"name": "x", "student_number": "9", "date": "2026-01-01"})
            assert r.status_code == 404, f"{method} {url} answered {r.status_code} to {who}"
            checked.append(f"{method} {rule.endpoint}")
            # ...and the owner reaches the same URL (the 404 is about ownership, not a broken route).
            if method == "GET":
                assert alice.client.open(url, method=method).status_code in (200, 302), url
    endpoints = {c.split(" ", 1)[1] for c in checked}
    for required in (
        "courses.show",
        "students.show",
        "students.photo",
        "students.subject_access",  # the export of everything held about the student
        "sessions.show",
        "sessions.photo",
        "jobs.status",
        "jobs.show",
    ):
        assert required in endpoints
    assert len(checked) >= 15


def test_ids_of_other_teachers_cannot_be_forged_into_forms(app, owned, teacher_factory):
    alice, ids = owned
    bob = teacher_factory("Bob")
    bob_course = bob.create_course("Bob's course")
    # Bob deletes via his own URL but with Alice's course id in a form field: nothing of Alice's moves.
    bob.client.post(f"/students/{ids['student_id']}/delete", data={"course_id": bob_course})
    assert alice.client.get(f"/students/{ids['student_id']}").status_code == 200
