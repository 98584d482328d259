"""The upload forms' scripts in real Chromium: session.js reports each file by the name the server gives it
back (long names cut to 120 characters, names with a backslash), and app.js stops a roster upload over the
limit before it is sent, saying how to import in parts.

Their requests are answered in-process by the Flask app (Playwright's request routing). Jobs are created but
not sent (no worker needed).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.browser.in_process import in_process_context

pytestmark = [pytest.mark.browser]

ORIGIN = "http://upload.test"


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.timeout(120)
def test_long_and_backslash_names_keep_their_own_verdicts(teacher, jobs_not_sent, chromium: Any) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Long names")

    good = "Klassenfoto " + "Mathematik Leistungskurs " * 6 + "Zoë.jpg"  # about 170 characters
    bad = "Notizen " + "zum Unterricht " * 9 + ".jpg"
    assert len(good) > 120 and len(bad) > 120
    context = in_process_context(chromium, teacher.client, ORIGIN)
    try:
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

    context = in_process_context(chromium, teacher.client, ORIGIN, posts=posts)
    try:
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


def _recognised(session_id: int) -> None:
    from sqlalchemy import update

    from attendance_shared.db import session_scope
    from attendance_shared.models import SessionPhoto, SessionPhotoStatus
    from attendance_shared.settings import get_settings

    with session_scope(get_settings().sqlalchemy_url) as s:
        s.execute(
            update(SessionPhoto).where(SessionPhoto.session_id == session_id).values(status=SessionPhotoStatus.DONE)
        )


@pytest.mark.timeout(120)
def test_photos_already_in_a_session_start_no_rerun_and_say_where(teacher, jobs_not_sent, chromium: Any) -> None:
    """A photo the session already holds, from "Add more photos" and from a new session's form with the same
    date and label: the page names the session holding it (with a link) and starts nothing; session.js used to
    POST the session's start_url (a re-run of every photo) and show the earlier session as the result."""
    from playwright.sync_api import expect

    course = teacher.create_course("Twice")
    first = teacher.client.post(
        f"/courses/{course}/sessions",
        data={"date": "2026-11-24", "label": "Period 1", "photos": [(io.BytesIO(_jpeg()), "room.jpg")]},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    ).get_json()
    sid = first["session_id"]
    _recognised(sid)
    posts: list[str] = []
    context = in_process_context(chromium, teacher.client, ORIGIN, posts=posts)
    try:
        page = context.new_page()
        for url in (f"/courses/{course}/sessions/new?session={sid}", f"/courses/{course}/sessions/new"):
            posts.clear()
            page.goto(url)
            if "?session=" not in url:
                page.locator("input[name=date]").fill("2026-11-24")
                page.locator("input[name=label]").fill("Period 1")
            page.locator("input[type=file][name=photos]").set_input_files(
                {"name": "again.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}
            )
            page.locator("form[data-take-attendance] button[type=submit]").click()
            notice = page.locator("[data-form-notice]")
            expect(notice).to_contain_text("again.jpg is already in the session of 2026-11-24 · Period 1")
            expect(notice.get_by_role("link", name="Open that session")).to_have_attribute("href", f"/sessions/{sid}")
            expect(page.locator("li.upload .upload-state")).to_have_text(
                "Already in the session of 2026-11-24 · Period 1"
            )
            expect(page.locator("form[data-take-attendance] button[type=submit]")).to_be_enabled()
            page.wait_for_timeout(300)
            assert posts == [f"/courses/{course}/sessions"], posts  # no re-run
            expect(page.locator("[data-live]")).to_be_hidden()
        # The new-session form is left as it was: the next photos make a new session, not more of the old one.
        expect(page.locator("input[name=session_id]")).to_have_value("")
        expect(page.locator("input[name=label]")).to_be_enabled()
        expect(page.locator("input[name=label]")).to_have_value("Period 1")
        expect(page.locator("form[data-take-attendance] button[type=submit]")).to_have_text(
            "Upload and take attendance"
        )
    finally:
        context.close()


@pytest.mark.timeout(120)
def test_add_photos_page_counts_the_photos_just_added(teacher, jobs_not_sent, chromium: Any) -> None:
    """ "(1 photo(s) so far)" stayed 1 after an upload to the session finished; it now counts what was added."""
    from playwright.sync_api import expect

    course = teacher.create_course("Count")
    first = teacher.client.post(
        f"/courses/{course}/sessions",
        data={"date": "2026-11-24", "label": "", "photos": [(io.BytesIO(_jpeg()), "room.jpg")]},
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    ).get_json()
    posts: list[str] = []
    context = in_process_context(chromium, teacher.client, ORIGIN, posts=posts)
    try:
        page = context.new_page()
        page.goto(f"/courses/{course}/sessions/new?session={first['session_id']}")
        count = page.locator("[data-target-session]")
        expect(count).to_contain_text("(1 photo(s) so far)")
        others = [Image.new("RGB", (64, 48), colour) for colour in ((1, 2, 3), (4, 5, 6))]
        files = []
        for i, image in enumerate(others):
            buf = io.BytesIO()
            image.save(buf, "JPEG")
            files.append({"name": f"new{i}.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()})
        files.append({"name": "room-again.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()})  # already there
        page.locator("input[type=file][name=photos]").set_input_files(files)
        page.locator("form[data-take-attendance] button[type=submit]").click()
        expect(count).to_contain_text("(3 photo(s) so far)")
    finally:
        context.close()
