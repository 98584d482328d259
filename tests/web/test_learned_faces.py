"""Faces learned from classroom photos: one face per student and photo, listed on the student page, removable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceRecord, AttendanceStatus, DetectedFace, FaceEmbedding, FaceReview
from tests.factories import Seeded, db_url, seed_session

JSON = {"Accept": "application/json"}


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


@pytest.fixture()
def seeded(app, teacher) -> Seeded:
    return seed_session(app, teacher)


def _face(app, face_id: int) -> DetectedFace:
    with session_scope(db_url(app)) as s:
        return s.get(DetectedFace, face_id)


def _status(app, seeded: Seeded, name: str) -> AttendanceStatus:
    with session_scope(db_url(app)) as s:
        return s.scalar(
            select(AttendanceRecord.status).where(
                AttendanceRecord.session_id == seeded.session_id, AttendanceRecord.student_id == seeded.students[name]
            )
        )


def _gallery(app, student_id: int) -> list[FaceEmbedding]:
    with session_scope(db_url(app)) as s:
        return list(s.scalars(select(FaceEmbedding).where(FaceEmbedding.student_id == student_id)))


# --- one student, one face per photo --------------------------------------------------------------------------------


def test_a_second_face_of_the_same_photo_is_refused_with_the_reason(app, teacher, seeded):
    """Ann is recognised on face 1: giving her face 4 of the same photo too is refused, and nothing changes."""
    stranger = seeded.faces["stranger"]
    r = teacher.client.post(f"/faces/{stranger}/assign", data={"student_id": seeded.students["Ann"]}, headers=JSON)
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == "Ann already has face 1 in this photo: one student, one face per photo."
    face = _face(app, stranger)
    assert face.student_id is None and face.review == FaceReview.NONE
    assert _gallery(app, seeded.students["Ann"]) == []
    # Without JavaScript: back to the face, with the reason.
    r = teacher.client.post(f"/faces/{stranger}/assign", data={"student_id": seeded.students["Ann"]})
    assert r.status_code == 303
    page = text(teacher.client.get(r.location).get_data(as_text=True))
    assert "Ann already has face 1 in this photo: one student, one face per photo." in page


def test_confirming_a_second_face_of_the_same_photo_is_refused(app, teacher, seeded):
    """Ben is assigned face 4; the engine's suggestion "face 2 may be Ben" can no longer be confirmed."""
    teacher.client.post(f"/faces/{seeded.faces['stranger']}/assign", data={"student_id": seeded.students["Ben"]})
    r = teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm", headers=JSON)
    assert r.status_code == 409
    assert r.get_json()["error"]["message"] == "Ben already has face 4 in this photo: one student, one face per photo."
    assert _face(app, seeded.faces["ben"]).review == FaceReview.NONE
    # Once the teacher says face 1 is not Ann, face 4 can be hers.
    teacher.client.post(f"/faces/{seeded.faces['ann']}/reject")
    r = teacher.client.post(f"/faces/{seeded.faces['cat']}/assign", data={"student_id": seeded.students["Ann"]})
    assert r.status_code == 303 and _status(app, seeded, "Ann") == AttendanceStatus.PRESENT


# --- the student page lists them; each can be removed ---------------------------------------------------------------


def test_the_student_page_lists_faces_learned_from_classroom_photos(app, teacher, seeded):
    ben = seeded.students["Ben"]
    page = text(teacher.client.get(f"/students/{ben}").get_data(as_text=True))
    assert "Faces learned from classroom photos (0)" in page and "None yet." in page
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    html = teacher.client.get(f"/students/{ben}").get_data(as_text=True)
    page = text(html)
    assert "Faces learned from classroom photos (1)" in page
    assert f'href="/sessions/{seeded.session_id}#face-{seeded.faces["ben"]}"' in html  # the session it came from
    assert "2026-11-24 · P1" in page and "Biology · face 2 in room.jpg" in page
    # the thumbnail: an SVG crop of the classroom photo around the face (box 170,40 - 270,160)
    assert 'viewBox="124.0 4.0 192.0 192.0"' in html and f'href="/session-photos/{seeded.photo_id}/view"' in html
    assert 'aria-label="Ben&#39;s face 2 in room.jpg, session of 2026-11-24 · P1"' in html


def test_removing_a_learned_face_keeps_its_verdict_in_the_session(app, teacher, seeded):
    ben = seeded.students["Ben"]
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    [embedding] = _gallery(app, ben)
    r = teacher.client.post(f"/students/{ben}/learned-faces/{embedding.id}/delete")
    assert r.status_code == 303 and r.location.endswith(f"/students/{ben}#learned-faces")
    page = text(teacher.client.get(r.location).get_data(as_text=True))
    assert "The face from the session of 2026-11-24 · P1 no longer helps recognise Ben." in page
    assert "Faces learned from classroom photos (0)" in page
    assert _gallery(app, ben) == []
    face = _face(app, seeded.faces["ben"])
    assert face.review == FaceReview.CONFIRMED and face.student_id == ben  # the verdict stays
    assert _status(app, seeded, "Ben") == AttendanceStatus.PRESENT
    assert teacher.client.post(f"/students/{ben}/learned-faces/{embedding.id}/delete").status_code == 404


def test_a_learned_face_is_removed_only_from_its_own_student_by_its_teacher(app, teacher, teacher_factory, seeded):
    ben, cat = seeded.students["Ben"], seeded.students["Cat"]
    teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm")
    [embedding] = _gallery(app, ben)
    assert teacher.client.post(f"/students/{cat}/learned-faces/{embedding.id}/delete").status_code == 404
    other = teacher_factory("Bob")
    assert other.client.post(f"/students/{ben}/learned-faces/{embedding.id}/delete").status_code == 404
    assert len(_gallery(app, ben)) == 1
