"""The upload forms' scripts in real Chromium: session.js reports each file by the name the server gives it
back (long names cut to 120 characters, names with a backslash), and app.js stops a roster upload over the
limit before it is sent, saying how to import in parts.

Their requests are answered in-process by the Flask app (Playwright's request routing). Jobs are created but
not sent (no worker needed).
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import Image

pytestmark = [pytest.mark.browser]

ORIGIN = "http://upload.test"
FORWARDED = ("content-type", "accept")


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.timeout(120)
def test_long_and_backslash_names_keep_their_own_verdicts(teacher, jobs_not_sent, chromium: Any) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Long names")

    def forward(route: Any) -> None:
        request = route.request
        url = urlsplit(request.url)
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        response = teacher.client.open(
            url.path + (f"?{url.query}" if url.query else ""),
            method=request.method,
            data=request.post_data_buffer,
            headers=headers,
        )
        route.fulfill(status=response.status_code, headers=dict(response.headers), body=response.get_data())

    good = "Klassenfoto " + "Mathematik Leistungskurs " * 6 + "Zoë.jpg"  # about 170 characters
    bad = "Notizen " + "zum Unterricht " * 9 + ".jpg"
    assert len(good) > 120 and len(bad) > 120
    context = chromium.new_context(base_url=ORIGIN)
    try:
        context.route(f"{ORIGIN}/**", forward)
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new")
        page.locator("input[type=file][name=photos]").set_input_files(
            [
                {"name": good, "mimeType": "image/jpeg", "buffer": _jpeg()},
                {"name": bad, "mimeType": "image/jpeg", "buffer": b"just some notes"},
                {"name": "back\\slash.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()[:-2] + b"\x00\xd9"},
            ]
        )
        page.locator("form[data-take-attendance] button[type=submit]").click()
        rows = page.locator("li.upload")
        expect(rows.nth(1).locator(".upload-state")).to_contain_text("Not accepted: ")
        expect(rows.nth(1).locator(".upload-state")).to_contain_text("is not a photo we can read")
        expect(rows.nth(2).locator(".upload-state")).to_contain_text("Not accepted: back_slash.jpg is incomplete")
        expect(rows.nth(0).locator(".upload-state")).to_contain_text("Waiting for its turn")  # stored, not "Failed"
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_a_too_large_roster_upload_is_stopped_before_it_is_sent(app, teacher, chromium: Any) -> None:
    """The server would refuse it whole after a long upload; the page says how to import in parts instead."""
    from playwright.sync_api import expect

    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    course = teacher.create_course("Big class")
    posts: list[str] = []

    def forward(route: Any) -> None:
        request = route.request
        url = urlsplit(request.url)
        if request.method == "POST":
            posts.append(url.path)
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        response = teacher.client.open(url.path, method=request.method, data=request.post_data_buffer, headers=headers)
        route.fulfill(status=response.status_code, headers=dict(response.headers), body=response.get_data())

    context = chromium.new_context(base_url=ORIGIN)
    try:
        context.route(f"{ORIGIN}/**", forward)
        page = context.new_page()
        page.goto(f"/courses/{course}/roster")
        page.locator("#roster_csv").set_input_files(
            {"name": "class.csv", "mimeType": "text/csv", "buffer": b"student_number,name\n1,Ann\n"}
        )
        page.locator("#photos_zip").set_input_files(
            {"name": "photos.zip", "mimeType": "application/zip", "buffer": b"\0" * (2 * 1024 * 1024)}
        )
        page.get_by_role("button", name="Upload and preview").click()
        alert = page.locator("[data-too-large-alert]")
        expect(alert).to_contain_text("the limit is 1 MB per upload")
        expect(alert).to_contain_text("import the same CSV with each one")
        assert posts == []
    finally:
        context.close()
