"""A subject-access export: the teacher downloads everything held about one student as one ZIP with a README;
it is audited, never cached, and another teacher gets 404."""

from __future__ import annotations

import csv
import io
import json
import zipfile

from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AuditEvent, StudentPhoto
from attendance_shared.settings import get_settings
from tests.factories import plain_jpeg, seed_session


def _rows(zf: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8-sig"))))


def test_the_teacher_downloads_everything_held_about_one_student(app, teacher, jobs_not_sent):
    seeded = seed_session(app, teacher)
    ben = seeded.students["Ben"]
    teacher.upload_portraits(ben, (plain_jpeg(320, 240), "ben.jpg"), (plain_jpeg(300, 200), "ben-old.jpg"))
    with session_scope(get_settings().sqlalchemy_url) as s:
        portraits = {
            p.original_filename: p for p in s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == ben))
        }
        kept, old = portraits["ben.jpg"], portraits["ben-old.jpg"]
        kept_key, old_id = kept.storage_key, old.id
        # an entry about another student whose id starts with Ben's: not Ben's
        s.add(AuditEvent(teacher_id=seeded.teacher_id, action="student_deleted", detail=f"student_id={ben}0 photos=0"))
    assert teacher.client.post(f"/student-photos/{old_id}/delete").status_code in (302, 303)
    # The teacher confirms Ben's face (it joins his gallery) and marks him late: a mark with a history.
    assert teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm").status_code in (302, 303)
    r = teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{ben}/mark", data={"status": "late", "note": "Missed the bus"}
    )
    assert r.status_code in (302, 303)

    page = teacher.client.get(f"/students/{ben}").get_data(as_text=True)
    assert f'href="/students/{ben}/export"' in page
    r = teacher.client.get(f"/students/{ben}/export")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Content-Disposition"].startswith("attachment;")
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    names = set(zf.namelist())
    assert {"README.txt", "student.json", "portraits/portraits.csv", "learned_faces/learned_faces.csv"} <= names
    assert {"face_templates.json", "recognised_faces.csv", "attendance.csv", "audit.csv"} <= names

    readme = zf.read("README.txt").decode()
    assert "Ben (student number N-Ben)" in readme and teacher.email in readme
    assert all(name in readme for name in ("student.json", "portraits/", "learned_faces/", "attendance.csv"))
    student = json.loads(zf.read("student.json"))
    assert (student["name"], student["student_number"]) == ("Ben", "N-Ben")
    assert [c["id"] for c in student["courses"]] == [seeded.course_id]

    (portrait,) = _rows(zf, "portraits/portraits.csv")  # the deleted one is no longer held
    assert portrait["uploaded_as"] == "ben.jpg"
    assert zf.read(f"portraits/{portrait['file']}") == app.extensions["attendance.store"].get(kept_key)

    (learned,) = _rows(zf, "learned_faces/learned_faces.csv")
    assert learned["photo"] == "room.jpg" and learned["lesson_date"] == "2026-11-24"
    assert Image.open(io.BytesIO(zf.read(f"learned_faces/{learned['file']}"))).format == "JPEG"
    templates = json.loads(zf.read("face_templates.json"))
    assert "learned face" in {t["source"] for t in templates}

    assert [f["named_or_proposed"] for f in _rows(zf, "recognised_faces.csv")] == ["named"]
    attendance = _rows(zf, "attendance.csv")
    assert (attendance[0]["line"], attendance[0]["status"]) == ("mark", "late")
    assert any(a["line"] == "change" and a["status"] == "late" and a["note"] == "Missed the bus" for a in attendance)

    audit = _rows(zf, "audit.csv")
    assert [a["action"] for a in audit] == ["student_photo_deleted"]
    assert f"photo_id={old_id}" in audit[0]["detail"]

    with session_scope(get_settings().sqlalchemy_url) as s:
        exported = s.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "student_data_exported", AuditEvent.teacher_id == seeded.teacher_id
            )
        ).all()
        assert [e.teacher_id for e in exported] == [seeded.teacher_id]
        assert f"student_id={ben} " in (exported[0].detail or "")
    # the next export lists this one
    again = zipfile.ZipFile(io.BytesIO(teacher.client.get(f"/students/{ben}/export").data))
    assert [a["action"] for a in _rows(again, "audit.csv")] == ["student_photo_deleted", "student_data_exported"]


def test_another_teacher_gets_404_and_no_export_is_audited(app, teacher, teacher_factory, jobs_not_sent):
    seeded = seed_session(app, teacher)
    bob = teacher_factory("Bob")
    assert bob.client.get(f"/students/{seeded.students['Ann']}/export").status_code == 404
    with session_scope(get_settings().sqlalchemy_url) as s:
        exported = select(AuditEvent).where(
            AuditEvent.action == "student_data_exported", AuditEvent.teacher_id == seeded.teacher_id
        )
        assert s.scalars(exported).all() == []


def test_the_api_sends_the_same_export_with_a_token(app, teacher, jobs_not_sent):
    from tests.factories import seed_api_token

    seeded = seed_session(app, teacher)
    token = seed_api_token(app, seeded.teacher_id, "sar")
    r = app.test_client().get(
        f"/api/v1/students/{seeded.students['Ann']}/export", headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200 and r.mimetype == "application/zip" and r.headers["Cache-Control"] == "no-store"
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    assert json.loads(zf.read("student.json"))["name"] == "Ann"
    assert [a["status"] for a in _rows(zf, "attendance.csv")] == ["present"]
    other = app.test_client().get(f"/api/v1/students/{seeded.students['Ann']}/export")
    assert other.status_code == 401
