"""Undo a mistake, in real Chromium at 1280 and 375 px: delete a session after reading what goes, and remove a face
learned from a classroom photo on the student page. Pages answered in-process (as in test_face_tags.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceSession, FaceEmbedding
from tests.browser.in_process import forward_to
from tests.factories import db_url, seed_session

pytestmark = [pytest.mark.browser]

ORIGIN = "http://undo.test"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}
# Nothing wider than the screen: no sideways scrolling on a phone.
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _context(chromium: Any, client: Any, width: str) -> Any:
    context = chromium.new_context(base_url=ORIGIN, viewport=WIDTHS[width])
    # A form's redirect is followed in-process: Chromium does not follow a routed one.
    context.route(f"{ORIGIN}/**", forward_to(client, follow_post_redirects=True))
    return context


def _count(app: Any, model: Any, *where: Any) -> int:
    with session_scope(db_url(app)) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_delete_a_session_after_reading_what_goes(app, teacher, chromium: Any, width: str) -> None:
    seeded = seed_session(app, teacher)
    context = _context(chromium, teacher.client, width)
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        page.get_by_role("link", name="Change the date or label, or delete this session").click()
        page.get_by_label("Label (e.g. Period 3)").fill("Period 2")
        page.get_by_role("button", name="Save date and label").click()
        page.get_by_text("is now the session of 2026-11-24 · Period 2").wait_for()
        page.get_by_role("link", name="Change the date or label, or delete this session").click()
        page.get_by_role("link", name="Delete this session…").click()
        page.get_by_role("heading", name="Delete the session of 2026-11-24 · Period 2?").wait_for()
        what = page.locator("#what-goes").inner_text()
        assert (
            what == "This deletes the session of 2026-11-24 · Period 2: 1 photo, 4 faces and the marks of 3 students."
        )
        assert page.get_by_text("Reports will no longer count it.").is_visible()
        button = page.get_by_role("button", name="Delete this session")
        assert button.is_visible() and page.evaluate(OVERFLOW) <= 0
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= WIDTHS[width]["width"]
        button.click()
        page.get_by_text("The session of 2026-11-24 · Period 2 was deleted").wait_for()
        # the course page (its redirect is followed in-process, so the address stays the form's)
        assert page.locator("h1").first.inner_text().startswith("Biology")
    finally:
        context.close()
    assert _count(app, AttendanceSession, AttendanceSession.id == seeded.session_id) == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_learned_faces_are_listed_and_removed_on_the_student_page(app, teacher, chromium: Any, width: str) -> None:
    seeded = seed_session(app, teacher)
    ben = seeded.students["Ben"]
    assert teacher.client.post(f"/faces/{seeded.faces['ben']}/confirm").status_code == 303
    context = _context(chromium, teacher.client, width)
    try:
        page = context.new_page()
        page.goto(f"/students/{ben}")
        page.get_by_role("heading", name="Faces learned from classroom photos (1)").wait_for()
        thumb = page.get_by_role("img", name="Ben's face 2 in room.jpg, session of 2026-11-24 · P1")
        thumb.scroll_into_view_if_needed()
        box = thumb.bounding_box()
        assert box and box["width"] >= 64 and box["x"] + box["width"] <= WIDTHS[width]["width"]
        assert page.evaluate("(el) => el.querySelector('image').getBBox().width > 0", thumb.element_handle())
        link = page.locator("#learned-faces").get_by_role("link", name="2026-11-24 · P1")
        assert link.get_attribute("href") == f"/sessions/{seeded.session_id}#face-{seeded.faces['ben']}"
        assert page.evaluate(OVERFLOW) <= 0
        page.once("dialog", lambda dialog: dialog.accept())  # app.js asks before removing
        page.get_by_role("button", name="Remove from Ben's faces").click()
        page.get_by_text("no longer helps recognise Ben").wait_for()
        page.get_by_role("heading", name="Faces learned from classroom photos (0)").wait_for()
    finally:
        context.close()
    assert _count(app, FaceEmbedding, FaceEmbedding.student_id == ben) == 0
