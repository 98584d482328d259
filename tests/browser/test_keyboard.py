"""The three core tasks by keyboard alone, in real Chromium at desktop and phone widths (WCAG 2.1.1, 2.4.3, 2.4.7):
upload a classroom photo, confirm a face, mark a student present / absent / excused.

Only page.keyboard moves and acts (Tab, Enter, Space); the file dialog the keyboard opens is answered with
expect_file_chooser. After every step, focus is on the element a keyboard user expects, shows a visible ring
(an outline of at least 2 px, or a box-shadow) and lies within the viewport. Pages are answered in-process by
the Flask app (Playwright's request routing): no server and no worker.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.in_process import in_process_context
from tests.factories import plain_jpeg, seed_session

pytestmark = [pytest.mark.browser]

ORIGIN = "http://keyboard.test"
VIEWPORTS = [
    pytest.param({"width": 1280, "height": 800}, id="1280px"),
    pytest.param({"width": 375, "height": 667}, id="375px"),
]
TAB_LIMIT = 150  # more presses than any of these pages has stops

# What the focused element looks like: is it the active element, its ring, and where it lies.
FOCUS_SCRIPT = """(e) => {
  const cs = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  return {
    active: e === document.activeElement,
    outlineStyle: cs.outlineStyle,
    outlineWidth: parseFloat(cs.outlineWidth) || 0,
    boxShadow: cs.boxShadow,
    inView: r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0
      && r.bottom <= window.innerHeight + 1 && r.right <= window.innerWidth + 1,  // + 1: sub-pixel layout
    box: [r.left, r.top, r.width, r.height],
    what: e.outerHTML.slice(0, 120),
  };
}"""

SETTLED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
ACTIVE_SCRIPT = "() => document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : null"


def assert_focused_visibly(target: Any) -> None:
    """`target` (a locator) is document.activeElement, with a visible focus ring, within the viewport."""
    from playwright.sync_api import expect

    expect(target).to_be_focused(timeout=5000)
    target.page.evaluate(SETTLED)  # what the teacher sees: after the next paint
    state = target.evaluate(FOCUS_SCRIPT)
    assert state["active"], (state["what"], target.page.evaluate(ACTIVE_SCRIPT))
    ring = (state["outlineStyle"] != "none" and state["outlineWidth"] >= 2) or state["boxShadow"] not in ("", "none")
    assert ring, f"no visible focus ring on {state['what']}: {state}"
    assert state["inView"], f"focused element out of view: {state}"


def tab_to(target: Any, key: str = "Tab") -> int:
    """Press Tab (or Shift+Tab) until `target` has focus; how many presses it took."""
    page = target.page
    handle = target.element_handle()
    for presses in range(1, TAB_LIMIT + 1):
        page.keyboard.press(key)
        if handle.evaluate("(e) => e === document.activeElement"):
            return presses
    raise AssertionError(f"{key} never reached {target}; focus is on {page.evaluate(ACTIVE_SCRIPT)}")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_upload_a_classroom_photo_by_keyboard(teacher, jobs_not_sent, chromium: Any, viewport: dict) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Keyboard")
    context = in_process_context(chromium, teacher.client, ORIGIN, viewport=viewport)
    try:
        page = context.new_page()
        # A listener from the start turns Chromium's file-chooser interception on before any key is pressed: armed
        # only by expect_file_chooser, it raced the Space press and the chooser opened unseen (2 runs in 5).
        page.on("filechooser", lambda chooser: None)
        page.goto(f"/courses/{course}/sessions/new")
        photos = page.locator("input[type=file][name=photos]")
        tab_to(photos)
        assert_focused_visibly(photos)

        with page.expect_file_chooser() as chosen:
            page.keyboard.press("Space")
        chosen.value.set_files(
            [
                {"name": "room.jpg", "mimeType": "image/jpeg", "buffer": plain_jpeg()},
                {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"just some notes"},
            ]
        )
        expect(page.locator("li.upload")).to_have_count(2)
        assert_focused_visibly(photos)  # choosing leaves focus where it was

        submit = page.locator("form[data-take-attendance] button[type=submit]")
        tab_to(submit)  # past each file's "Remove" button
        assert_focused_visibly(submit)

        page.keyboard.press("Enter")
        rows = page.locator("li.upload .upload-state")
        expect(rows.nth(0)).to_have_text(re.compile("^(Uploaded|Waiting for its turn)"))
        expect(rows.nth(1)).to_contain_text("Not accepted: notes.jpg is not a photo we can read")
        # The refusal is also said to a screen reader, the list's own text unchanged.
        announcer = page.locator("[data-upload-announcer]")
        expect(announcer).to_have_attribute("aria-live", "polite")
        expect(announcer).to_contain_text("notes.jpg was not uploaded: notes.jpg is not a photo we can read")
        expect(announcer).not_to_contain_text("room.jpg")
        # Focus moves on to what happens next: the recognition progress, with the way to the review.
        heading = page.locator("[data-live] h2")
        expect(heading).to_be_visible()
        assert_focused_visibly(heading)
        expect(page.locator("[data-review-link]")).to_be_visible()
        assert_focused_visibly(heading)  # the status polls do not move it
    finally:
        context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_confirm_faces_by_keyboard(app, teacher, chromium: Any, viewport: dict) -> None:
    from playwright.sync_api import expect

    seeded = seed_session(app, teacher)
    context = in_process_context(chromium, teacher.client, ORIGIN, viewport=viewport)
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        waiting = page.locator("#confirm .confirm-item").evaluate_all("(items) => items.map((li) => li.id)")
        assert len(waiting) == 2, waiting  # Ben and Cat
        first, second = (page.locator(f"#{item} button", has_text="Yes, it is") for item in waiting)
        names = {f"confirm-{seeded.faces[k]}": k.capitalize() for k in ("ben", "cat")}

        tab_to(first)
        assert_focused_visibly(first)
        page.keyboard.press("Enter")
        expect(page.locator(f"#{waiting[0]}")).to_have_count(0)
        student = seeded.students[names[waiting[0]]]
        expect(page.locator(f"#student-{student} .who .badge")).to_have_text("present")
        assert_focused_visibly(second)  # the next face to confirm, not an item further down

        page.keyboard.press("Enter")
        expect(page.locator("#confirm")).to_have_count(0)
        student = seeded.students[names[waiting[1]]]
        expect(page.locator(f"#student-{student} .who .badge")).to_have_text("present")
        # None left: the message saying what was done, where the list was.
        live = page.locator("#review-live")
        expect(live).not_to_be_empty()
        assert_focused_visibly(live)
    finally:
        context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_mark_a_student_by_keyboard(app, teacher, chromium: Any, viewport: dict) -> None:
    from playwright.sync_api import expect

    seeded = seed_session(app, teacher)
    ben = seeded.students["Ben"]
    context = in_process_context(chromium, teacher.client, ORIGIN, viewport=viewport)
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        badge = page.locator(f"#student-{ben} .who .badge")
        expect(badge).to_have_text("waiting for your confirmation")  # his face waits in "please confirm"

        def button(status: str) -> Any:
            return page.locator(f"#student-{ben} form.mark button[value={status}]")

        tab_to(button("present"))
        steps = [("present", "Enter", None), ("late", "Space", "Tab"), ("absent", "Enter", "Tab")]
        for status, key, move in [*steps, ("excused", "Enter", "Tab")]:
            if move:
                page.keyboard.press(move)
            assert_focused_visibly(button(status))
            page.keyboard.press(key)
            expect(badge).to_have_text(status)  # saved, and the page shows it
            expect(button(status)).to_have_attribute("aria-pressed", "true")
            assert_focused_visibly(button(status))  # the button pressed, not the row
        # Back by Shift+Tab to "Absent" and Space: the same, in the other direction.
        page.keyboard.press("Shift+Tab")
        assert_focused_visibly(button("absent"))
        page.keyboard.press("Space")
        expect(badge).to_have_text("absent")
        expect(button("absent")).to_have_attribute("aria-pressed", "true")
        expect(button("excused")).to_have_attribute("aria-pressed", "false")
        assert_focused_visibly(button("absent"))
    finally:
        context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_other_face_actions_keep_focus_in_the_face_entry(app, teacher, chromium: Any, viewport: dict) -> None:
    """Rejecting a match, then naming the face again: focus stays in that face's entry, on its first control."""
    from playwright.sync_api import expect

    seeded = seed_session(app, teacher)
    entry = f"#face-{seeded.faces['ann']}"
    context = in_process_context(chromium, teacher.client, ORIGIN, viewport=viewport)
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        reject = page.locator(f"{entry} button", has_text="Not Ann")
        tab_to(reject)
        assert_focused_visibly(reject)
        page.keyboard.press("Enter")
        expect(page.locator(entry)).to_have_class(re.compile("face-item--rejected"))
        who = page.locator(f"{entry} select")
        assert_focused_visibly(who)  # "Who is this?", the entry's first control now

        page.keyboard.press("ArrowDown")  # the first student: Ann
        expect(who).to_have_value(str(seeded.students["Ann"]))
        assign = page.locator(f"{entry} form.assign button")
        tab_to(assign)
        assert_focused_visibly(assign)
        page.keyboard.press("Enter")
        expect(page.locator(entry)).to_have_class(re.compile("face-item--matched"))
        assert_focused_visibly(page.locator(f"{entry} button", has_text="Not Ann"))
    finally:
        context.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_confirming_in_the_face_list_goes_on_to_the_list_at_the_top(
    app, teacher, chromium: Any, viewport: dict
) -> None:
    """The same face's "Yes" further down the page: focus goes to the next face to confirm, brought into view."""
    from playwright.sync_api import expect

    seeded = seed_session(app, teacher)
    ben, cat = seeded.faces["ben"], seeded.faces["cat"]
    context = in_process_context(chromium, teacher.client, ORIGIN, viewport=viewport)
    try:
        page = context.new_page()
        page.goto(f"/sessions/{seeded.session_id}")
        yes = page.locator(f"#face-{ben} button", has_text="Yes, it is Ben")
        tab_to(yes)
        assert_focused_visibly(yes)
        page.keyboard.press("Enter")
        expect(page.locator(f"#confirm-{ben}")).to_have_count(0)
        assert_focused_visibly(page.locator(f"#confirm-{cat} button", has_text="Yes, it is Cat"))
    finally:
        context.close()
