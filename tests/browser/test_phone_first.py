"""Phone first, in real Chromium as a phone (375 x 740, touch): "Take attendance" is the full-width main action of
the dashboard and the course page; the take-attendance page offers the camera, its buttons are large enough (44 x 44
px at least) and within the thumb's reach; a single photo over the limit is called too large for one photo, not
"send fewer at a time"; the roster preview's portrait thumbnails load under the app's own CSP. The pages are
answered in-process by the Flask app (tests/browser/in_process.py)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
from PIL import Image

from tests.browser.in_process import in_process_context
from tests.browser.test_accessibility import AXE_PATH, RUN_AXE, WCAG_AA, axe_source, describe

pytestmark = [pytest.mark.browser]

ORIGIN = "http://phone.test"
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
TARGET_PX = 44  # WCAG 2.5.5 (AAA) and both phone platforms' guidelines


def _jpeg(size: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


def _box(page: Any, selector: str) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box, f"{selector} is not shown"
    return box


@pytest.mark.timeout(120)
def test_take_attendance_is_the_full_width_main_action_on_a_phone(teacher, chromium: Any) -> None:
    course = teacher.create_course("Biology")
    context = in_process_context(chromium, teacher.client, ORIGIN, **PHONE)
    try:
        page = context.new_page()
        for path in ("/", f"/courses/{course}"):
            page.goto(path)
            box = _box(page, "a.take-action")
            assert box["width"] >= 375 - 2 * 40, (path, box)  # the width of the page's content
            assert box["height"] >= TARGET_PX, (path, box)
            assert box["y"] + box["height"] <= 740, (path, box)  # seen without scrolling
    finally:
        context.close()


@pytest.mark.timeout(180)
def test_the_take_attendance_page_works_one_handed(app, teacher, jobs_not_sent, chromium: Any) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Biology")
    teacher.add_student(course, "Ann", "1")
    context = in_process_context(chromium, teacher.client, ORIGIN, **PHONE)
    source = axe_source()
    context.route(f"{ORIGIN}{AXE_PATH}", lambda route: route.fulfill(body=source, content_type="text/javascript"))
    try:
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new")
        camera = _box(page, "label[for=camera-photo]")
        chooser = _box(page, "input[type=file][name=photos]")
        submit = _box(page, "form[data-take-attendance] [data-submit]")
        for name, box in (("camera", camera), ("chooser", chooser), ("upload", submit)):
            assert box["width"] >= TARGET_PX and box["height"] >= TARGET_PX, (name, box)
        # Within the thumb's reach: the camera in the lower two thirds, the upload button at the bottom of the screen.
        assert camera["y"] >= 740 / 3 and camera["y"] + camera["height"] <= 740, camera
        assert 740 * 2 / 3 <= submit["y"] and submit["y"] + submit["height"] <= 740, submit
        assert submit["width"] >= 375 - 2 * 40, submit

        page.locator("#camera-photo").set_input_files({"name": "room.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()})
        expect(page.locator("li.upload .upload-state").first).to_have_text("Ready")
        page.locator("input[type=file][name=photos]").set_input_files(
            [{"name": f"older{i}.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()} for i in range(2)]
        )
        expect(page.locator("li.upload")).to_have_count(3)  # the camera's photo and two chosen ones, together

        page.add_script_tag(url=AXE_PATH)
        found = page.evaluate(RUN_AXE, WCAG_AA)
        assert not found, describe({"take attendance @ phone": found})
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_the_camera_is_offered_to_touch_screens_only(teacher, chromium: Any) -> None:
    course = teacher.create_course("Biology")
    context = in_process_context(chromium, teacher.client, ORIGIN, **DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new")
        assert not page.locator("label[for=camera-photo]").is_visible()
        assert page.locator("input[type=file][name=photos]").is_visible()
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_one_photo_over_the_limit_is_too_large_for_a_photo(app, teacher, chromium: Any) -> None:
    """A 2 MB photo against a 1 MB limit: "too large: the limit is 1 MB per photo", not "send fewer at once"."""
    from playwright.sync_api import expect

    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    course = teacher.create_course("Biology")
    student = teacher.add_student(course, "Ann", "1")
    big = {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": b"\xff" * (2 * 1024 * 1024)}
    posts: list[str] = []
    context = in_process_context(chromium, teacher.client, ORIGIN, posts=posts, **PHONE)
    try:
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new")
        page.locator("#camera-photo").set_input_files(big)
        state = page.locator("li.upload .upload-state").first
        expect(state).to_have_text(
            "Not accepted: huge.jpg is too large: the limit is 1 MB per photo. Please choose a smaller copy of it."
        )

        page.goto(f"/students/{student}")
        page.locator("form[data-too-large] input[type=file]").set_input_files(big)
        page.locator("form[data-too-large] button[type=submit]").click()
        alert = page.locator("[data-too-large-alert]")
        expect(alert).to_have_text(
            "huge.jpg is too large: the limit is 1 MB per photo. Please choose a smaller copy of it."
        )
        assert posts == []
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_the_roster_preview_shows_the_portraits_it_will_add(teacher, chromium: Any) -> None:
    course = teacher.create_course("Biology")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("1001.jpg", _jpeg(400))
        zf.writestr("1002.jpg", _jpeg(300))
    r = teacher.client.post(
        f"/courses/{course}/roster/imports",
        data={
            "roster_csv": (io.BytesIO(b"1001,Ann\n1002,Ben\n"), "r.csv"),
            "photos_zip": (io.BytesIO(buf.getvalue()), "p.zip"),
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    context = in_process_context(chromium, teacher.client, ORIGIN, **PHONE)
    try:
        page = context.new_page()
        page.goto(r.location)
        thumbs = page.locator(".portrait-thumbs img")
        assert thumbs.count() == 2
        for i in range(2):
            thumbs.nth(i).scroll_into_view_if_needed()
            loaded = thumbs.nth(i).evaluate("(img) => img.decode().then(() => img.naturalWidth)")
            assert loaded > 0
    finally:
        context.close()
