"""Direct uploads to S3, the web's half (attendance_web.direct_uploads): sign and register for classroom photos and
portraits against the moto S3-API server, what they refuse and in which words, and that nothing is half-stored."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceSession, SessionPhoto, SessionPhotoStatus, StudentPhoto
from attendance_shared.settings import get_settings
from tests import s3_direct
from tests.s3_direct import announce, post_to_s3

s3_bucket = s3_direct.s3_bucket  # the fixture
JSON = {"Accept": "application/json"}


@pytest.fixture()
def app(s3_bucket, database):
    from attendance_web import create_app

    get_settings.cache_clear()
    return create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)


def _jpeg(colour=(120, 90, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def _sign(tc, course: int, *files, session_id=None):
    body = {"files": list(files), "session_id": session_id}
    return tc.client.post(f"/courses/{course}/sessions/sign", json=body, headers=JSON)


def _register(tc, course: int, tickets, **form):
    data = {"date": "2026-12-01", "label": "Period 2", "ticket": list(tickets), **form}
    return tc.client.post(f"/courses/{course}/sessions/register", data=data, headers=JSON)


def _photos(session_id: int) -> list[SessionPhoto]:
    with session_scope(get_settings().sqlalchemy_url) as s:
        return list(s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == session_id)))


def test_the_pages_offer_direct_uploads_and_the_csp_allows_the_bucket(teacher, s3_bucket) -> None:
    course = teacher.create_course("Physics")
    page = teacher.client.get(f"/courses/{course}/sessions/new")
    html = page.get_data(as_text=True)
    assert f'data-direct-sign="/courses/{course}/sessions/sign"' in html and "direct.js" in html
    csp = page.headers["Content-Security-Policy"]
    assert f"connect-src 'self' {s3_bucket.endpoint}" in csp and f"form-action 'self' {s3_bucket.endpoint}" in csp
    assert "script-src 'self';" in csp  # still no inline script
    student = teacher.add_student(course, "Ann", "1")
    html = teacher.client.get(f"/students/{student}").get_data(as_text=True)
    assert f'data-direct-sign="/students/{student}/photos/sign"' in html


def test_sign_gives_a_policy_for_that_key_type_size_and_five_minutes(teacher, s3_bucket) -> None:
    course = teacher.create_course("Physics")
    photo = _jpeg()
    r = _sign(teacher, course, announce("board.jpg", photo))
    assert r.status_code == 200, r.data
    (signed,) = r.json["uploads"]
    assert r.json["errors"] == []
    key = signed["fields"]["key"]
    assert key.startswith("temp/direct/") and signed["url"].startswith(s3_bucket.endpoint)
    policy = json.loads(base64.b64decode(signed["fields"]["policy"]))
    assert {"Content-Type": "image/jpeg"} in policy["conditions"]
    assert ["content-length-range", 1, len(photo)] in policy["conditions"]
    assert {"key": key} in policy["conditions"]
    assert "never reached the photo store" in signed["messages"]["missing"]
    import datetime as dt

    expires = dt.datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    left = (expires - dt.datetime.now(dt.UTC)).total_seconds()
    assert 240 < left <= 300


def test_sign_refuses_wrong_type_and_too_large_in_the_usual_words(teacher, s3_bucket) -> None:
    course = teacher.create_course("Physics")
    big = {"name": "huge.jpg", "type": "image/jpeg", "size": 41 * 1024 * 1024, "sha256": "0" * 64}
    r = _sign(teacher, course, announce("notes.txt", b"hello", "text/plain"), big)
    assert r.json["uploads"] == []
    messages = {e["filename"]: e["message"] for e in r.json["errors"]}
    assert messages["notes.txt"].startswith("notes.txt is not a photo we can read. Please upload a JPEG")
    too_large = "huge.jpg is too large: the limit is 40 MB per photo. Please choose a smaller copy of it."
    assert messages["huge.jpg"] == too_large
    assert s3_bucket.keys() == []


def test_a_classroom_photo_signed_uploaded_and_registered(teacher, s3_bucket, jobs_not_sent) -> None:
    course = teacher.create_course("Physics")
    photo = _jpeg()
    (signed,) = _sign(teacher, course, announce("board.jpg", photo)).json["uploads"]
    assert post_to_s3(signed, photo).status_code == 204
    r = _register(teacher, course, [signed["ticket"]])
    assert r.status_code == 201, r.data
    assert r.json["added"] == ["board.jpg"] and r.json["job_id"] and r.json["errors"] == []
    (row,) = _photos(r.json["session_id"])
    assert row.storage_key == signed["fields"]["key"] and row.status == SessionPhotoStatus.QUEUED
    assert row.content_sha256 == announce("board.jpg", photo)["sha256"]
    # The same photo registered again (a retry): reported as already there, its new object deleted.
    (again,) = _sign(teacher, course, announce("board.jpg", photo)).json["uploads"]
    post_to_s3(again, photo)
    r2 = _register(teacher, course, [again["ticket"]], session_id=r.json["session_id"])
    assert r2.json["duplicates"] == ["board.jpg"]
    assert s3_bucket.keys() == [row.storage_key]


def test_an_object_that_never_arrived_is_reported_and_nothing_is_made(teacher, s3_bucket) -> None:
    course = teacher.create_course("Physics")
    (signed,) = _sign(teacher, course, announce("lost.jpg", _jpeg())).json["uploads"]
    r = _register(teacher, course, [signed["ticket"]])  # the browser never sent it
    assert r.status_code == 400
    (error,) = r.json["errors"]
    assert error["code"] == "upload_missing"
    assert error["message"].startswith("lost.jpg never reached the photo store (its upload did not finish)")
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.scalar(select(AttendanceSession).where(AttendanceSession.course_id == course)) is None


def test_register_refuses_what_s3_should_have(teacher, s3_bucket) -> None:
    """The policy makes S3 refuse these; an S3-compatible store that does not enforce it (moto) still gets them
    refused at registration, each deleted: another type than announced, more bytes than announced."""
    course = teacher.create_course("Physics")
    photo = _jpeg()
    a, b = _sign(teacher, course, announce("a.jpg", photo), announce("b.jpg", photo)).json["uploads"]
    post_to_s3(a, photo, content_type="text/html")
    post_to_s3(b, photo + b"\0" * 1000)
    r = _register(teacher, course, [a["ticket"], b["ticket"]])
    messages = {e["filename"]: e["message"] for e in r.json["errors"]}
    assert messages["a.jpg"].startswith("a.jpg is not a photo we can read")
    assert messages["b.jpg"].startswith("b.jpg is incomplete")
    assert s3_bucket.keys() == []


def test_many_photos_registered_at_once_keep_their_order_and_their_refusals(teacher, s3_bucket, jobs_not_sent) -> None:
    """Their objects are looked at several at a time (direct_uploads._heads): each answer still goes with its file."""
    course = teacher.create_course("Physics")
    photos = {f"p{i}.jpg": _jpeg((10 * i, 90, 60)) for i in range(7)}
    signed = _sign(teacher, course, *(announce(n, d) for n, d in photos.items())).json["uploads"]
    for upload in signed:
        name = upload["filename"]
        if name == "p2.jpg":
            continue  # never sent
        post_to_s3(upload, photos[name] + (b"\0" * 10 if name == "p4.jpg" else b""))
    r = _register(teacher, course, ["not a ticket", *(u["ticket"] for u in signed)])
    assert r.status_code == 201, r.data
    assert r.json["added"] == ["p0.jpg", "p1.jpg", "p3.jpg", "p5.jpg", "p6.jpg"]
    assert [(e["filename"], e["code"]) for e in r.json["errors"]] == [
        ("photo", "not_your_upload"),
        ("p2.jpg", "upload_missing"),
        ("p4.jpg", "image_rejected"),
    ]
    rows = _photos(r.json["session_id"])
    assert sorted(row.original_filename for row in rows) == r.json["added"]
    assert s3_bucket.keys() == sorted(row.storage_key for row in rows)  # p4's object deleted


def test_an_expired_ticket_is_refused_and_its_object_deleted(teacher, s3_bucket, monkeypatch) -> None:
    import time

    course = teacher.create_course("Physics")
    photo = _jpeg()
    (signed,) = _sign(teacher, course, announce("slow.jpg", photo)).json["uploads"]
    post_to_s3(signed, photo)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    r = _register(teacher, course, [signed["ticket"]])
    (error,) = r.json["errors"]
    assert error["code"] == "upload_expired"
    assert error["message"] == "The upload of slow.jpg took too long and was not kept. Please upload it again."
    assert s3_bucket.keys() == []


def test_another_teachers_uploads_and_sessions_are_not_reachable(teacher_factory, s3_bucket) -> None:
    alice, bob = teacher_factory("Alice"), teacher_factory("Bob")
    a_course, b_course = alice.create_course("A"), bob.create_course("B")
    photo = _jpeg()
    (bobs,) = _sign(bob, b_course, announce("bob.jpg", photo)).json["uploads"]
    post_to_s3(bobs, photo)
    # Bob's ticket, registered by Alice: outside her temp prefix, refused; Bob's object is left alone.
    r = _register(alice, a_course, [bobs["ticket"]])
    assert [e["code"] for e in r.json["errors"]] == ["not_your_upload"]
    assert s3_bucket.keys() == [bobs["fields"]["key"]]
    # A made-up ticket: refused.
    r = _register(alice, a_course, ["temp/direct/1/abc"])
    assert [e["code"] for e in r.json["errors"]] == ["not_your_upload"]
    # Bob's session (or course) by id: 404 for signing and registering alike.
    bob_session = _register(bob, b_course, [bobs["ticket"]]).json["session_id"]
    assert _sign(alice, a_course, announce("x.jpg", photo), session_id=bob_session).status_code == 404
    assert _register(alice, a_course, [], session_id=bob_session).status_code == 404
    assert _sign(alice, b_course, announce("x.jpg", photo)).status_code == 404
    assert _register(alice, b_course, []).status_code == 404


def test_a_portrait_signed_uploaded_and_registered(teacher, s3_bucket, jobs_not_sent) -> None:
    course = teacher.create_course("Physics")
    student = teacher.add_student(course, "Ann", "1")
    photo = _jpeg()
    r = teacher.client.post(f"/students/{student}/photos/sign", json={"files": [announce("ann.jpg", photo)]})
    (signed,) = r.json["uploads"]
    post_to_s3(signed, photo)
    r = teacher.client.post(
        f"/students/{student}/photos/register",
        data={"ticket": [signed["ticket"]], "failed": ["too_large:big.jpg"]},
        headers=JSON,
    )
    assert r.status_code == 200 and r.json["redirect"].startswith(f"/students/{student}")
    html = teacher.client.get(r.json["redirect"]).get_data(as_text=True)
    assert "1 photo(s) uploaded; checking each for a usable face." in html
    assert "big.jpg is too large: the limit is 40 MB per photo." in html
    with session_scope(get_settings().sqlalchemy_url) as s:
        (row,) = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student))
        assert row.storage_key == signed["fields"]["key"]


def test_without_s3_the_forms_post_to_the_web_as_before(s3_bucket, database, tmp_path) -> None:
    """The embedded default: no signing route, no script, no bucket in the CSP (posting is test_take_attendance's)."""
    from attendance_web import create_app
    from tests.conftest import TeacherClient

    plain = get_settings().model_copy(update={"s3_bucket": None, "storage_dir": tmp_path})
    web = create_app(plain, TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    tc = TeacherClient(web.test_client(), "plain@school.example.org").signup("Plain")
    course = tc.create_course("Physics")
    page = tc.client.get(f"/courses/{course}/sessions/new")
    assert "data-direct-sign" not in page.get_data(as_text=True) and "direct.js" not in page.get_data(as_text=True)
    assert "connect-src" not in page.headers["Content-Security-Policy"]
    assert _sign(tc, course, announce("a.jpg", b"x")).status_code == 404
    assert _register(tc, course, []).status_code == 404


def test_sign_and_the_job_poll_read_outside_a_transaction_register_writes_in_one(teacher, s3_bucket, jobs_not_sent):
    """extensions.READ_ONLY_ENDPOINTS: no BEGIN/ROLLBACK round trips for the requests made most often; every other
    request (register, which writes) still runs in a transaction."""
    from flask import has_request_context, request
    from sqlalchemy import event

    from attendance_shared.db import engine_for
    from attendance_web.extensions import READ_ONLY_ENDPOINTS

    app = teacher.client.application
    assert READ_ONLY_ENDPOINTS <= set(app.view_functions)  # a renamed view would silently lose the saving
    course = teacher.create_course("Physics")
    seen: list[tuple[str, bool]] = []

    def statement(conn, *_args) -> None:  # type: ignore[no-untyped-def]
        if has_request_context():
            seen.append((str(request.endpoint), conn.connection.dbapi_connection.autocommit))

    engine = engine_for(get_settings().sqlalchemy_url)
    event.listen(engine, "before_cursor_execute", statement)
    try:
        photo = _jpeg()
        (signed,) = _sign(teacher, course, announce("board.jpg", photo)).json["uploads"]
        post_to_s3(signed, photo)
        job = _register(teacher, course, [signed["ticket"]]).json["job_id"]
        assert teacher.client.get(f"/jobs/{job}.json").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    by_view: dict[str, set[bool]] = {}
    for endpoint, autocommit in seen:
        by_view.setdefault(endpoint, set()).add(autocommit)
    assert by_view == {"sessions.sign_uploads": {True}, "sessions.register_uploads": {False}, "jobs.status": {True}}
