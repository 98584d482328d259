"""A student's name without spaces (a 70-character one) stays inside the review page's student list.

Real Chromium lays out the real page; its requests are answered in-process by the Flask app (Playwright's
request routing, as in test_review_errors.py), so no server or worker is needed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.in_process import in_process_context
from tests.factories import seed_session

pytestmark = [pytest.mark.browser]

ORIGIN = "http://review.test"
LONG_NAME = "Maximilianwolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft"  # 71 letters, no space

# Every box of the student list whose content is wider than the box itself (scrollWidth > clientWidth), and every
# name that ends past the list's right edge.
OVERFLOW_SCRIPT = """() => {
  const found = [];
  const list = document.querySelector(".roster");
  const boxes = [document.querySelector(".roster-col"), list, ...list.querySelectorAll(".roster-row, .who")];
  boxes.forEach((e) => {
    if (e.scrollWidth > e.clientWidth) { found.push(`${e.className}: ${e.scrollWidth} > ${e.clientWidth}`); }
  });
  const right = list.getBoundingClientRect().right;
  list.querySelectorAll(".who strong").forEach((e) => {
    const end = e.getBoundingClientRect().right;
    if (end > right + 0.5) { found.push(`${e.textContent.slice(0, 20)}... ends at ${end} > ${right}`); }
  });
  return found;
}"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_long_unbroken_name_stays_inside_the_student_list(
    app, teacher, chromium: Any, tmp_path, width, height
) -> None:
    seeded = seed_session(app, teacher)
    long_id = teacher.add_student(seeded.course_id, LONG_NAME, "N-long")
    r = teacher.client.post(f"/sessions/{seeded.session_id}/students/{long_id}/mark", data={"status": "present"})
    assert r.status_code in (302, 303), r.data[:300]

    context = in_process_context(chromium, teacher.client, ORIGIN, viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        name = page.locator(f"#student-{long_id} .who strong")
        assert name.text_content() == LONG_NAME
        page.screenshot(path=str(tmp_path / f"review-{width}px.png"), full_page=True)  # to look at when it fails
        assert page.evaluate(OVERFLOW_SCRIPT) == []
        box = name.bounding_box()
        assert box is not None and box["height"] > 30  # wrapped onto several lines, not cut off nor scrolled
        # ... and the page as a whole does not scroll sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    finally:
        context.close()


LONGEST_NAME = ("Wolfeschlegelsteinhausenbergerdorff" * 4)[:120]  # 120 letters, no space
assert len(LONGEST_NAME) == 120

# How wide the page's content is, against the window: more means the page scrolls (or a phone zooms out).
PAGE_WIDTH_SCRIPT = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def _visible_in(page: Any, locator: Any, container: str) -> bool:
    """The element lies inside the window and inside `container`'s visible box (not scrolled away)."""
    box = locator.bounding_box()
    outer = page.locator(container).first.bounding_box()
    width = page.evaluate("window.innerWidth")
    return (
        box is not None
        and outer is not None
        and box["x"] >= outer["x"] - 0.5
        and box["x"] + box["width"] <= min(outer["x"] + outer["width"], width) + 0.5
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_a_120_letter_name_wraps_on_the_course_page_and_the_course_report(
    app, teacher, chromium: Any, tmp_path, width, height
) -> None:
    seeded = seed_session(app, teacher)
    long_id = teacher.add_student(seeded.course_id, LONGEST_NAME, "N-long")
    r = teacher.client.post(f"/sessions/{seeded.session_id}/students/{long_id}/mark", data={"status": "absent"})
    assert r.status_code in (302, 303), r.data[:300]

    context = in_process_context(chromium, teacher.client, ORIGIN, viewport={"width": width, "height": height})
    try:
        page = context.new_page()

        page.goto(f"/courses/{seeded.course_id}")
        page.screenshot(path=str(tmp_path / f"course-{width}px.png"), full_page=True)
        scroll_width, inner_width = page.evaluate(PAGE_WIDTH_SCRIPT)
        assert scroll_width <= inner_width, f"course page {scroll_width}px wide in a {inner_width}px window"
        # Every column of the roster is in view: the long name wraps in its cell.
        row = page.locator("tr", has=page.locator(f"a:text-is('{LONGEST_NAME}')"))
        assert row.count() == 1
        for column in ("Name", "Number", "Portraits"):
            assert _visible_in(page, page.locator(f"thead th:text-is('{column}')"), ".table-wrap"), column
        assert _visible_in(page, row.locator("td").nth(1), ".table-wrap")
        assert row.locator("td").nth(1).text_content() == "N-long"
        assert _visible_in(page, row.locator("button:text-is('Remove')"), ".table-wrap")
        name_box = row.locator("td.name a").bounding_box()
        assert name_box is not None and name_box["height"] > 30  # several lines

        page.goto(f"/reports/courses/{seeded.course_id}")
        page.screenshot(path=str(tmp_path / f"report-{width}px.png"), full_page=True)
        scroll_width, inner_width = page.evaluate(PAGE_WIDTH_SCRIPT)
        assert scroll_width <= inner_width, f"course report {scroll_width}px wide in a {inner_width}px window"
        # "Students by session": the rate and the mark of the long-named student are in view, not scrolled away.
        matrix_row = page.locator("table.matrix tr", has=page.locator(f"a:text-is('{LONGEST_NAME}')"))
        assert _visible_in(page, matrix_row.locator("td.rate"), ".table-scroll:has(table.matrix)")
        assert _visible_in(page, matrix_row.locator("td.m").first, ".table-scroll:has(table.matrix)")
        assert page.locator("table.matrix th:text-is('Rate')").is_visible()
    finally:
        context.close()
