"""The course page's roster says which students recognition can find: a refused portrait is not hidden behind
"0 accepted"."""

from __future__ import annotations

from attendance_shared.db import session_scope
from attendance_shared.models import FaceEmbedding, PhotoStatus, StudentPhoto
from attendance_shared.settings import get_settings


def _photo(student_id: int, status: PhotoStatus, n: int) -> StudentPhoto:
    return StudentPhoto(
        student_id=student_id,
        storage_key=f"student_photos/test/{student_id}/{n}.jpg",
        original_filename=f"{n}.jpg",
        content_type="image/jpeg",
        width=10,
        height=10,
        status=status,
    )


def test_the_roster_says_who_cannot_be_recognised(teacher):
    course = teacher.create_course("Chemistry")
    ann, ben, cat = (teacher.add_student(course, name, str(i)) for i, name in enumerate(("Ann", "Ben", "Cat")))
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.add_all([_photo(ann, PhotoStatus.ACCEPTED, 1), _photo(ann, PhotoStatus.REJECTED, 2)])
        s.add_all([_photo(ben, PhotoStatus.REJECTED, 3), _photo(cat, PhotoStatus.PENDING, 4)])
    html = teacher.client.get(f"/courses/{course}").get_data(as_text=True)
    rows = {name: html[html.index(f">{name}</a>") :][:700] for name in ("Ann", "Ben", "Cat")}
    assert "1 accepted" in rows["Ann"] and "1 refused" in rows["Ann"]
    assert "none usable: cannot be recognised" in rows["Ben"] and "1 refused" in rows["Ben"]
    assert "being checked" in rows["Cat"]
    assert '<div class="table-wrap">' in html
    with session_scope(get_settings().sqlalchemy_url) as s:  # a face the teacher assigned to Ben taught the gallery
        s.add(FaceEmbedding(student_id=ben, model_id="m", dim=2, vector=b"\0" * 8))
    html = teacher.client.get(f"/courses/{course}").get_data(as_text=True)
    assert "none, but faces you named teach recognition" in html[html.index(">Ben</a>") :][:700]
