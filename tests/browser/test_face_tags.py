"""Face labels on the classroom photo stay inside the photo and do not cover each other (real Chromium).

The page is answered in-process by the Flask app (Playwright's request routing, as in test_long_names.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import DetectedFace, Student
from tests.browser.in_process import in_process_context
from tests.factories import db_url, seed_session

pytestmark = [pytest.mark.browser]

ORIGIN = "http://review.test"
LONG = "Annemarie Wolfeschlegelsteinhausen-Bergerdorff"

# Every label's box and drawn text (getBBox, in the photo's own pixels) and the photo's size.
TAGS_SCRIPT = """() => {
  const svg = document.querySelector("svg.photo");
  const vb = svg.viewBox.baseVal;
  const tags = [...svg.querySelectorAll("a.face")].map((a) => {
    const r = a.querySelector(".face-tag").getBBox();
    const t = a.querySelector(".face-text").getBBox();
    return {label: a.querySelector(".face-text").textContent, tag: [r.x, r.y, r.width, r.height],
            text: [t.x, t.y, t.width, t.height]};
  });
  return {width: vb.width, height: vb.height, tags};
}"""


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


@pytest.mark.timeout(120)
def test_face_labels_stay_inside_the_photo_and_apart(app, teacher, chromium: Any, tmp_path) -> None:
    seeded = seed_session(app, teacher)
    with session_scope(db_url(app)) as s:
        s.get(Student, seeded.students["Ann"]).name = LONG
        # Ann at the photo's right edge; Cat's face next to Ben's, a little lower (their labels would collide).
        s.get(DetectedFace, seeded.faces["ann"]).box = [540, 60, 630, 170]
        s.get(DetectedFace, seeded.faces["ben"]).box = [170, 40, 270, 160]
        s.get(DetectedFace, seeded.faces["cat"]).box = [200, 48, 300, 168]
        # The unknown face at the very top right: no room above its box.
        s.get(DetectedFace, seeded.faces["stranger"]).box = [590, 2, 638, 50]
        assert s.scalar(select(DetectedFace.id).where(DetectedFace.id == seeded.faces["ann"]))

    context = in_process_context(chromium, teacher.client, ORIGIN, viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        page.locator("svg.photo").scroll_into_view_if_needed()
        page.locator("svg.photo").screenshot(path=str(tmp_path / "photo.png"))  # to look at when it fails
        found = page.evaluate(TAGS_SCRIPT)
    finally:
        context.close()
    width, height = found["width"], found["height"]
    labels = [t["label"] for t in found["tags"]]
    assert f"{LONG} 0.80" in labels and "Ben? 0.40" in labels and "Cat? 0.45" in labels, labels
    for t in found["tags"]:
        x, y, w, h = t["tag"]
        assert x >= 0 and y >= 0 and x + w <= width + 0.5 and y + h <= height + 0.5, t
        tx, _ty, tw, _th = t["text"]
        assert tx >= x and tx + tw <= x + w + 0.5, t  # the text lies within its label's box
    tags = [t["tag"] for t in found["tags"]]
    for i, a in enumerate(tags):
        for b in tags[i + 1 :]:
            assert not _overlap(a, b), (a, b)
