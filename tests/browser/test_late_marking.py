"""Marking a student late on the review page, in real Chromium at 1280 px and on a 375 px phone: the four mark buttons
(present, late, absent, excused) fit in the student's row side by side, the keyboard reaches each one, and a late mark
with its note shows on the row. Pages are answered in-process by the Flask app: no server and no worker."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.in_process import in_process_context
from tests.browser.test_keyboard import assert_focused_visibly, tab_to
from tests.factories import seed_session

pytestmark = [pytest.mark.browser]

ORIGIN = "http://late.test"
VIEWPORTS = [
    pytest.param({"width": 1280, "height": 800}, id="1280px"),
    pytest.param({"width": 375, "height": 667}, id="375px"),
]
STATUSES = ("present", "late", "absent", "excused")
# Each button's box, and whether the page scrolls sideways.
LAYOUT = """(buttons) => ({
  boxes: buttons.map((b) => { const r = b.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }),
  pageWidth: document.documentElement.scrollWidth,
  viewWidth: window.innerWidth,
})"""


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_four_mark_buttons_fit_and_late_is_marked_by_keyboard(app, teacher, chromium: Any, viewport: dict) -> None:
    from playwright.sync_api import expect

    seeded = seed_session(app, teacher)
    ann = seeded.students["Ann"]
    row = f"#student-{ann}"
    context = in_process_context(chromium, teacher.client, ORIGIN, viewport=viewport)
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        buttons = page.locator(f"{row} form.mark button")
        expect(buttons).to_have_count(4)
        assert [b.get_attribute("value") for b in buttons.all()] == list(STATUSES)

        layout = buttons.evaluate_all(LAYOUT)
        assert layout["pageWidth"] <= layout["viewWidth"], layout  # no sideways scrolling on a phone
        tops = {round(top) for _left, top, _right, _bottom in layout["boxes"]}
        assert len(tops) == 1, layout  # one line: side by side, none pushed under the others
        for left, _top, right, _bottom in layout["boxes"]:
            assert 0 <= left and right <= layout["viewWidth"], layout
        rights = [box[2] for box in layout["boxes"]]
        lefts = [box[0] for box in layout["boxes"]]
        assert all(rights[i] <= lefts[i + 1] for i in range(3)), layout  # none overlaps the next

        late = page.locator(f"{row} form.mark button[value=late]")
        tab_to(late)
        assert_focused_visibly(late)
        page.keyboard.press("Enter")
        badge = page.locator(f"{row} .who .badge").first
        expect(badge).to_have_text("late")
        expect(late).to_have_attribute("aria-pressed", "true")
        expect(page.locator(f"{row} form.mark button[value=present]")).to_have_attribute("aria-pressed", "false")
        colours = late.evaluate("(b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]")
        assert colours == ["rgb(106, 61, 154)", "rgb(255, 255, 255)"]  # --late, white text: 7.6:1
        for status in STATUSES:  # every button reachable by Tab from the one before
            button = page.locator(f"{row} form.mark button[value={status}]")
            tab_to(button, "Shift+Tab" if status == "present" else "Tab")
            assert_focused_visibly(button)

        page.locator(f"{row} details.note summary").click()
        page.locator(f"{row} details.note select").select_option("late")
        page.locator(f"{row} details.note input[name=note]").fill("Missed the bus")
        page.locator(f"{row} details.note button[type=submit]").click()
        expect(page.locator(row)).to_contain_text("Missed the bus")  # the note, on the student's row
        expect(page.locator(f"{row} .who .badge").first).to_have_text("late")
        expect(page.locator(".summary .badge.late")).to_have_text("1 late")
    finally:
        context.close()
