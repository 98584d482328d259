"""The review page asks for a closer photo where faces are too small or unclear to recognise: the area outlined on
the photo, how many faces and where, and a link that adds a photo to this session."""

from __future__ import annotations

import html
import re

from attendance_shared.db import session_scope
from attendance_shared.models import DetectedFace, FaceLegibility, SessionPhoto, SessionPhotoStatus, utcnow
from tests.factories import db_url, seed_session


def _flag(app, *face_ids: int, legibility: FaceLegibility = FaceLegibility.TOO_SMALL) -> None:
    with session_scope(db_url(app)) as s:
        for face_id in face_ids:
            s.get(DetectedFace, face_id).legibility = legibility


def _advice(page: str) -> str | None:
    found = re.search(r'<p class="retake-advice"[^>]*>(.*?)</p>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split()) if found else None


def test_faces_too_small_are_outlined_with_advice_and_a_link_to_add_a_photo(app, teacher):
    seeded = seed_session(app, teacher)
    _flag(app, seeded.faces["ben"], seeded.faces["stranger"])  # confirm and unknown, both in the top row
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert _advice(page) == (
        "2 faces at the back are too small in this photo. Take a closer photo of that area (outlined) and add it "
        "to this session."
    )
    add = f'href="/courses/{seeded.course_id}/sessions/new?session={seeded.session_id}">add it to this session</a>'
    assert add in page
    area = re.search(r'<rect class="retake-area" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', page)
    assert area, "the area is outlined on the photo"
    x, y, w, h = (float(v) for v in area.groups())
    assert x <= 170 and y <= 40 and x + w >= 570 and y + h >= 160  # around Ben's and the stranger's boxes
    assert x >= 0 and y >= 0 and x + w <= 640 and y + h <= 480  # inside the photo


def test_a_face_the_teacher_decided_needs_no_closer_photo(app, teacher):
    seeded = seed_session(app, teacher)
    _flag(app, seeded.faces["ben"], seeded.faces["ann"])  # Ann was named: nothing to ask for her
    _flag(app, seeded.faces["cat"], legibility=FaceLegibility.TOO_POOR)
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert _advice(page).startswith("2 faces at the back are too small or unclear to recognise in this photo.")
    assert teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm").status_code == 303
    assert teacher.client.post(f"/faces/{seeded.faces['cat']}/reject").status_code == 303
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert _advice(page) is None and 'class="retake-area"' not in page


def test_the_advice_is_answered_once_a_closer_photo_is_added(app, teacher):
    seeded = seed_session(app, teacher)
    _flag(app, seeded.faces["stranger"])
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert _advice(page).startswith("1 face at the back on the right is too small in this photo.")
    with session_scope(db_url(app)) as s:
        s.add(
            SessionPhoto(
                session_id=seeded.session_id,
                storage_key=None,
                original_filename="closer.jpg",
                content_type="image/jpeg",
                content_sha256="c" * 64,
                width=640,
                height=480,
                status=SessionPhotoStatus.DONE,
                face_count=0,
                processed_at=utcnow(),
            )
        )
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert _advice(page) is None


def test_faces_recognised_before_the_flag_existed_ask_for_nothing(teacher, app):
    seeded = seed_session(app, teacher)  # legibility NULL: as every face recognised before migration 0008
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    assert _advice(page) is None and 'class="retake-area"' not in page
