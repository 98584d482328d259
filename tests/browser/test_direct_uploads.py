"""Photos straight from Chromium to S3 (static/direct.js): the classroom-photo and portrait forms sign with the web,
POST each file to the moto S3-API server on loopback (a bucket with the CORS rule of docs/deploy-aws.md, under the
page's own CSP), and register; the web never receives a photo's bytes. Then what the teacher reads when S3 refuses
an expired policy, when a file is not a photo or over the limit, and when an upload never arrives: each time in
words, and nothing of that file is kept (no row, no object).

The web's requests are answered in-process (Playwright's routing, tests/browser/in_process.py) on a localhost origin
(a secure context: crypto.subtle hashes each photo); requests to S3 go to the real moto server.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceSession, SessionPhoto, StudentPhoto
from attendance_shared.settings import get_settings
from tests import s3_direct
from tests.browser.conftest import CHROMIUM_ARGS, require_chromium
from tests.browser.in_process import forward_to
from tests.s3_direct import Bucket

s3_bucket = s3_direct.s3_bucket  # the fixture
pytestmark = [pytest.mark.browser]

ORIGIN = "http://localhost:8731"
POLICY_EXPIRED = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    "<Message>Invalid according to Policy: Policy expired.</Message><RequestId>1</RequestId></Error>"
)


@pytest.fixture()
def app(s3_bucket, database):
    from attendance_web import create_app

    get_settings.cache_clear()
    return create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)


@pytest.fixture(scope="module")
def loopback_chromium(chromium: Any) -> Any:
    """Chromium that lets a page reach the S3 server on loopback: the pages here are answered by routing, so
    Chromium takes them for public pages, and its Local Network Access checks would stop their requests to
    127.0.0.1. A school's pages and its bucket are both public: nothing there needs this."""
    browser = chromium.browser_type.launch(
        executable_path=str(require_chromium()),
        headless=True,
        args=[
            *CHROMIUM_ARGS,
            "--disable-features=LocalNetworkAccessChecks,PrivateNetworkAccessRespectPreflightResults",
        ],
    )
    yield browser
    browser.close()


def _jpeg(colour=(120, 90, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(buf, "JPEG")
    return buf.getvalue()


class Browser:
    """A context whose requests to ORIGIN go to the app (their bodies kept) and whose S3 requests are counted."""

    def __init__(self, chromium: Any, client: Any, bucket: Bucket) -> None:
        self.bodies: list[bytes] = []
        self.s3_posts = 0
        self.context = chromium.new_context(base_url=ORIGIN)
        forward = forward_to(client)

        def to_web(route: Any) -> None:
            if route.request.method == "POST":
                self.bodies.append(route.request.post_data_buffer or b"")
            forward(route)

        self.context.route(f"{ORIGIN}/**", to_web)
        self.page = self.context.new_page()
        self.page.on("request", self._count)
        self.bucket = bucket

    def _count(self, request: Any) -> None:
        if request.url.startswith(self.bucket.endpoint) and request.method == "POST":
            self.s3_posts += 1

    def on_s3(self, handler: Any) -> None:
        self.context.route(f"{self.bucket.endpoint}/**", handler)

    def web_received(self, data: bytes) -> bool:
        return any(data[100:400] in body for body in self.bodies)

    def close(self) -> None:
        self.context.close()


def _take_photos(browser: Browser, course: int, files: list[dict[str, Any]]) -> Any:
    page = browser.page
    page.goto(f"/courses/{course}/sessions/new")
    page.locator("input[type=file][name=photos]").set_input_files(files)
    page.locator("form[data-take-attendance] button[type=submit]").click()
    return page.locator("li.upload .upload-state")


def _sessions(course: int) -> list[AttendanceSession]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return list(s.scalars(select(AttendanceSession).where(AttendanceSession.course_id == course)))


@pytest.mark.timeout(120)
def test_a_classroom_photo_goes_from_the_browser_to_s3(teacher, s3_bucket, jobs_not_sent, loopback_chromium) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Physics")
    photo = _jpeg()
    browser = Browser(loopback_chromium, teacher.client, s3_bucket)
    problems: list[str] = []
    browser.page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    try:
        state = _take_photos(browser, course, [{"name": "board.jpg", "mimeType": "image/jpeg", "buffer": photo}])
        expect(state).to_contain_text("Waiting for its turn")
        assert browser.s3_posts == 1
        assert not browser.web_received(photo)  # the web signed and registered; it never saw the photo
        (session,) = _sessions(course)
        with session_scope(get_settings().sqlalchemy_url) as s:
            (row,) = s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session.id))
            key = row.storage_key
        assert key is not None and key.startswith("temp/direct/")
        assert s3_bucket.client.get_object(Bucket=s3_bucket.name, Key=key)["Body"].read() == photo
        assert problems == []  # no CSP violation, no error
    finally:
        browser.close()


@pytest.mark.timeout(120)
def test_a_portrait_goes_from_the_browser_to_s3(teacher, s3_bucket, jobs_not_sent, loopback_chromium) -> None:
    from playwright.sync_api import expect

    course = teacher.create_course("Physics")
    student = teacher.add_student(course, "Ann Lee", "1")
    photo = _jpeg((200, 180, 160))
    browser = Browser(loopback_chromium, teacher.client, s3_bucket)
    try:
        page = browser.page
        page.goto(f"/students/{student}")
        page.locator("input[type=file][name=photos]").set_input_files(
            [{"name": "ann.jpg", "mimeType": "image/jpeg", "buffer": photo}]
        )
        page.get_by_role("button", name="Upload portraits").click()
        expect(page.locator("body")).to_contain_text("1 photo(s) uploaded; checking each for a usable face.")
        assert browser.s3_posts == 1 and not browser.web_received(photo)
        with session_scope(get_settings().sqlalchemy_url) as s:
            (row,) = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student))
            assert row.storage_key.startswith("temp/direct/")
        assert s3_bucket.keys() == [row.storage_key]
    finally:
        browser.close()


@pytest.mark.timeout(120)
def test_an_expired_policy_is_told_and_nothing_is_kept(teacher, s3_bucket, jobs_not_sent, loopback_chromium) -> None:
    """S3 refuses a POST whose policy has expired (403, "Policy expired."): moto does not check policies, so the
    answer is AWS's own, given in its place."""
    from playwright.sync_api import expect

    course = teacher.create_course("Physics")
    browser = Browser(loopback_chromium, teacher.client, s3_bucket)
    browser.on_s3(
        lambda route: route.fulfill(
            status=403,
            body=POLICY_EXPIRED,
            headers={"Content-Type": "application/xml", "Access-Control-Allow-Origin": ORIGIN},
        )
    )
    try:
        state = _take_photos(browser, course, [{"name": "late.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}])
        expect(state).to_have_text(
            "Not accepted: The upload of late.jpg took too long and was not kept. Please upload it again."
        )
        expect(browser.page.locator("[data-form-error]")).to_contain_text("No photo could be used")
        assert _sessions(course) == [] and s3_bucket.keys() == []
    finally:
        browser.close()


@pytest.mark.timeout(120)
def test_not_a_photo_and_too_large_are_refused_before_upload(
    app, teacher, s3_bucket, jobs_not_sent, loopback_chromium, monkeypatch
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setattr(app.config["ATTENDANCE_SETTINGS"], "max_upload_mb", 1)  # MAX_UPLOAD_MB=1
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    course = teacher.create_course("Physics")
    browser = Browser(loopback_chromium, teacher.client, s3_bucket)
    big = b"\xff\xd8" + b"\0" * (1024 * 1024 + 1)
    try:
        state = _take_photos(
            browser,
            course,
            [
                {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"just some notes"},
                {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": big},
            ],
        )
        expect(state.nth(0)).to_have_text(
            "Not accepted: notes.txt is not a photo we can read. Please upload a JPEG, PNG, WebP or HEIC image."
        )
        expect(state.nth(1)).to_have_text(
            "Not accepted: huge.jpg is too large: the limit is 1 MB per photo. Please choose a smaller copy of it."
        )
        assert browser.s3_posts == 0 and s3_bucket.keys() == [] and _sessions(course) == []
    finally:
        browser.close()


@pytest.mark.timeout(120)
def test_an_upload_that_never_arrives_is_told_and_nothing_is_kept(
    teacher, s3_bucket, jobs_not_sent, loopback_chromium
) -> None:
    """The browser thinks the POST went through (a proxy answered, say) but S3 has no such object: registering
    says so, and no session or photo row is made."""
    from playwright.sync_api import expect

    course = teacher.create_course("Physics")
    browser = Browser(loopback_chromium, teacher.client, s3_bucket)
    browser.on_s3(lambda route: route.fulfill(status=204, headers={"Access-Control-Allow-Origin": ORIGIN}))
    try:
        state = _take_photos(browser, course, [{"name": "lost.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}])
        expect(state).to_contain_text(
            "Not accepted: lost.jpg never reached the photo store (its upload did not finish)"
        )
        assert _sessions(course) == [] and s3_bucket.keys() == []
    finally:
        browser.close()
