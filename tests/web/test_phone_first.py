"""Phone first, as the server writes it: "Take attendance" is the main action of the dashboard and the course page,
the take-attendance page offers the camera straight away beside the chooser, and a refused upload gives advice that
fits one photo too large as well as too many photos at once."""

from __future__ import annotations

import html
import io
import re


def test_take_attendance_is_the_main_action_of_the_dashboard_and_the_course_page(teacher):
    course = teacher.create_course("Biology")
    for path in ("/", f"/courses/{course}"):
        page = teacher.client.get(path).get_data(as_text=True)
        link = re.search(
            rf'<a class="([^"]*take-action[^"]*)" href="/courses/{course}/sessions/new">Take attendance', page
        )
        assert link, path


def test_the_take_attendance_page_offers_the_camera_and_the_chooser(teacher):
    course = teacher.create_course("Biology")
    page = teacher.client.get(f"/courses/{course}/sessions/new").get_data(as_text=True)
    camera = re.search(r"<input [^>]*data-camera[^>]*>", page)
    assert camera, "a camera input"
    tag = camera.group(0)
    assert 'capture="environment"' in tag and 'accept="image/*"' in tag
    assert "multiple" not in tag  # the camera gives one photo a time
    assert " name=" not in tag  # sent by session.js; without it the chooser is the form's one input
    assert '<label for="camera-photo" class="button primary file-button">Take a photo</label>' in page
    chooser = re.search(r'<input [^>]*name="photos"[^>]*>', page)
    assert chooser and "multiple" in chooser.group(0) and "capture" not in chooser.group(0)  # photos already taken
    assert 'data-too-large-photo="is too large: the limit is 40 MB per photo.' in page


def test_a_portrait_too_large_without_the_script_gets_advice_for_one_photo_too(app, teacher):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    course = teacher.create_course("Big class")
    student = teacher.add_student(course, "Ann", "1")
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(b"\0" * (2 * 1024 * 1024)), "one_big.jpg")]},
        content_type="multipart/form-data",
    )
    said = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 413
    assert "A single photo over the limit needs a smaller copy" in said
    page = html.unescape(teacher.client.get(f"/students/{student}").get_data(as_text=True))
    assert (
        'data-too-large-photo="is too large: the limit is 1 MB per photo. Please choose a smaller copy of it."' in page
    )
