"""The student page in real Chromium: a portrait's file name wraps at its separators in a narrow card, never
inside a word ("Adrien_Brody_0001.j / pg" before). Requests are answered in-process by the Flask app."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.browser.in_process import in_process_context

pytestmark = [pytest.mark.browser]

ORIGIN = "http://students.test"

# For each text piece of the file name (between its <wbr> break points): how many lines it is drawn on.
LINES_PER_PIECE = """el => Array.from(el.childNodes).filter(n => n.nodeType === Node.TEXT_NODE).map(n => {
    const r = document.createRange(); r.selectNodeContents(n);
    return [n.textContent, new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))).size]; })"""


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.timeout(120)
def test_a_long_portrait_file_name_wraps_between_its_parts(teacher, jobs_not_sent, chromium: Any) -> None:
    course = teacher.create_course("Civics")
    student = teacher.add_student(course, "Adrien Brody", "1003")
    teacher.upload_portraits(student, (_jpeg(), "Adrien_Brody_0001.jpg"))

    context = in_process_context(chromium, teacher.client, ORIGIN, viewport={"width": 360, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"/students/{student}")
        name = page.locator(".photo .filename")
        assert name.get_attribute("title") == "Adrien_Brody_0001.jpg"
        box = name.bounding_box()
        lines = {round(r["top"]) for r in name.evaluate("el => Array.from(el.getClientRects()).map(r => r.toJSON())")}
        assert box is not None and len(lines) >= 2, "the card is narrow enough that the name must wrap"
        pieces = name.evaluate(LINES_PER_PIECE)
        assert "".join(text for text, _ in pieces) == "Adrien_Brody_0001.jpg"
        assert all(count == 1 for _, count in pieces), pieces  # no piece is broken inside
    finally:
        context.close()
