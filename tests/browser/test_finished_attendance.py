"""The take-attendance page once recognition is done, and a student waiting for confirmation, on a phone (375 px)
and a desktop, in real Chromium.

The page says it is finished ("N present, M to confirm, K unknown"), offers "Review" as its main action and
"Take attendance for another lesson" beside it, and no longer offers an upload that would add the next lesson's
photo to this session. On the review page, a student whose face waits in "please confirm" reads "waiting for your
confirmation" (not "absent"), and the link goes to that face.

Requests are answered in-process by the Flask app; the job is created but not sent, and the test writes what the
worker would (tests/factories.finish_attendance_job).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceSession
from tests.browser.in_process import in_process_context
from tests.factories import db_url, finish_attendance_job

pytestmark = [pytest.mark.browser]

ORIGIN = "http://finished.test"
WIDTHS = {"375": {"width": 375, "height": 800}, "1280": {"width": 1280, "height": 900}}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.timeout(180)
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_finished_page_says_so_and_leads_to_the_review(
    app, teacher, jobs_not_sent, chromium: Any, width: str
) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Geography")
    ann, ben = teacher.add_student(course, "Ann", "N-1"), teacher.add_student(course, "Ben", "N-2")
    posts: list[str] = []
    context = in_process_context(chromium, teacher.client, ORIGIN, posts=posts, viewport=WIDTHS[width])
    try:
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new")
        page.locator("input[type=file][name=photos]").set_input_files(
            {"name": "lesson.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
        )
        page.get_by_role("button", name="Upload and take attendance").click()
        expect(page.locator("[data-live-message]")).to_contain_text("Waiting")
        with session_scope(db_url(app)) as s:
            session_id = s.scalar(select(AttendanceSession.id).where(AttendanceSession.course_id == course))
        assert session_id is not None
        faces = finish_attendance_job(app, session_id, present=[ann], confirm=[ben], unknown=1)

        expect(page.locator("[data-live-message]")).to_have_text("Finished: 1 present, 1 to confirm, 1 unknown.")
        expect(page.get_by_role("heading", name="Attendance taken")).to_be_visible()
        review = page.get_by_role("link", name="Review", exact=True)
        expect(review).to_be_visible()
        expect(review).to_have_class("button primary")
        another = page.get_by_role("link", name="Take attendance for another lesson")
        expect(another).to_be_visible()
        assert another.get_attribute("href") == f"/courses/{course}/sessions/new"  # a new session, not this one
        # Nothing left on the page would add a photo to this session.
        expect(page.locator("[data-submit]")).to_be_hidden()
        expect(page.locator("input[type=file][name=photos]")).to_be_hidden()
        if width == "375":  # one column, nothing wider than the phone; both actions side by side or stacked
            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            for link in (review, another):
                box = link.bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375

        review.click()
        page.wait_for_url(f"**/sessions/{session_id}")
        row = page.locator(f"#student-{ben}")
        waiting = row.get_by_role("link", name="waiting for your confirmation")
        expect(waiting).to_be_visible()
        expect(row).not_to_contain_text("absent")
        expect(page.locator(f"#student-{ann} .badge")).to_have_text("present")
        waiting.click()
        page.wait_for_url(f"**/sessions/{session_id}#confirm-{faces[ben]}")
        expect(page.locator(f"#confirm-{faces[ben]}")).to_be_in_viewport()
        expect(page.locator(f"#confirm-{faces[ben]}")).to_contain_text("Is this Ben?")
        assert posts.count(f"/courses/{course}/sessions") == 1  # one upload, into one session
    finally:
        context.close()
