"""session.js reports each file by the name the server gives it back: long names (cut to 120 characters) and
names with a backslash must not turn a stored photo into "Failed" nor hide why a file was refused.

Real Chromium runs the take-attendance page's real script; its requests are answered in-process by the Flask
app (Playwright's request routing). Jobs are created but not sent (no worker needed).
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
