"""Settings and privacy: API tokens (shown once, stored hashed, audited), photo retention, and a student's
deletion removing their portraits and face templates."""

from __future__ import annotations

import hashlib
import html
import io
import re

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    ApiToken,
    AuditEvent,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    SessionPhoto,
    Student,
    StudentPhoto,
    Teacher,
)

TOKEN_RE = re.compile(r'value="(att_[A-Za-z0-9_-]+)"')
NONCE_RE = re.compile(r'<input[^>]*name="nonce"[^>]*value="([^"]+)"')
ALREADY_CREATED = "That token was already created; its secret is shown only once."


def _db(app):
    return session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url)


def _jpeg(color=(120, 90, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(buf, "JPEG")
    return buf.getvalue()


def _teacher_id(app, teacher) -> int:
    with _db(app) as s:
        return s.scalar(select(Teacher.id).where(Teacher.email == teacher.email))


def _nonce(page) -> str:
    """The create form's one-time nonce, from a page (a response) that holds the form."""
    match = NONCE_RE.search(page.get_data(as_text=True))
    assert match, "the create form carries its nonce"
    return match.group(1)


def _create_token(teacher, name="Moodle sync", nonce=None):
    """(the POST's response, the token it shows): the form as the settings page gives it (GET /settings first)."""
    if nonce is None:
        nonce = _nonce(teacher.client.get("/settings"))
    r = teacher.client.post("/settings/tokens", data={"name": name, "nonce": nonce})
    match = TOKEN_RE.search(r.get_data(as_text=True))
    return r, match.group(1) if match else None


def _count_tokens(app, teacher) -> int:
    with _db(app) as s:
        count = select(func.count()).select_from(ApiToken).where(ApiToken.teacher_id == _teacher_id(app, teacher))
        return int(s.scalar(count) or 0)


def test_settings_page_shows_tokens_retention_and_privacy(teacher):
    r = teacher.client.get("/settings")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    for text in ("API tokens", "Create token", "Keep classroom photos for (days)", "Privacy", "To delete a student"):
        assert text in page
    assert 'value="365"' in page
    assert 'href="/settings"' in teacher.client.get("/").get_data(as_text=True)


def test_settings_needs_login(client):
    assert client.get("/settings").status_code == 302


def test_token_is_shown_once_and_stored_only_as_a_hash(app, teacher):
    r, token = _create_token(teacher, "Moodle sync")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert token and len(token) > 40
    with _db(app) as s:
        row = s.scalar(select(ApiToken).where(ApiToken.teacher_id == _teacher_id(app, teacher)))
        assert row.name == "Moodle sync"
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token.startswith(row.prefix) and len(row.prefix) < 12
        assert token not in (row.name, row.prefix, row.token_hash)
        event = s.scalar(
            select(AuditEvent).where(AuditEvent.action == "token_created", AuditEvent.teacher_id == row.teacher_id)
        )
        assert event is not None and token not in (event.detail or "")
    later = teacher.client.get("/settings").get_data(as_text=True)
    assert token not in later
    assert "Moodle sync" in later and row.prefix in later


def test_the_new_token_never_travels_in_a_cookie(app, teacher):
    """Flask's session cookie is signed, not encrypted: 705c074 put the secret there for one redirect, so it went
    readable in Set-Cookie and the next Cookie header, and an old cookie value replayed it. It is in no cookie now."""
    r, token = _create_token(teacher, "Cookie check")
    assert token
    assert all(token not in header for header in r.headers.getlist("Set-Cookie"))
    with teacher.client.session_transaction() as cookie:
        assert token not in str(dict(cookie))
    later = teacher.client.get("/settings")
    assert all(token not in header for header in later.headers.getlist("Set-Cookie"))


def test_a_session_holding_a_secret_from_the_old_redirect_loses_it_and_shows_nothing(teacher):
    with teacher.client.session_transaction() as cookie:
        cookie["new_api_token"] = "att_left_by_705c074"
    page = teacher.client.get("/settings").get_data(as_text=True)
    assert "att_left_by_705c074" not in page
    with teacher.client.session_transaction() as cookie:
        assert "new_api_token" not in cookie


def test_reloading_after_creating_a_token_neither_creates_another_nor_shows_it_again(app, teacher):
    """The browser's reload of the answer resends the POST with its nonce, spent by the token it created: nothing is
    created, and the teacher lands on the settings page, told why the secret is not shown."""
    nonce = _nonce(teacher.client.get("/settings"))
    r, token = _create_token(teacher, "LMS", nonce)
    assert r.status_code == 200 and token
    assert _nonce(r) != nonce  # the answer's own form can create the next token
    reload = teacher.client.post("/settings/tokens", data={"name": "LMS", "nonce": nonce})
    assert reload.status_code == 303 and reload.headers["Location"].endswith("/settings")
    landed = teacher.client.get(reload.headers["Location"])
    page = html.unescape(landed.get_data(as_text=True))
    assert landed.status_code == 200 and token not in page and TOKEN_RE.search(page) is None
    assert ALREADY_CREATED in page and "Revoke it and create a new one if you did not copy it." in page
    assert "LMS" in page  # listed, by name and prefix only
    assert _count_tokens(app, teacher) == 1


@pytest.mark.parametrize("nonce", [None, "", "forged-nonce"])
def test_a_form_without_an_issued_nonce_creates_nothing(app, teacher, nonce):
    teacher.client.get("/settings")  # the session holds nonces, none of them this one
    data = {"name": "forged"} if nonce is None else {"name": "forged", "nonce": nonce}
    r = teacher.client.post("/settings/tokens", data=data, follow_redirects=True)
    page = html.unescape(r.get_data(as_text=True))
    assert ALREADY_CREATED in page and TOKEN_RE.search(page) is None
    assert _count_tokens(app, teacher) == 0


def test_two_open_settings_pages_each_create_one_token(app, teacher):
    """Two tabs: each page's form has its own nonce; the list keeps the last MAX_TOKEN_NONCES forms usable."""
    from attendance_web.account.views import MAX_TOKEN_NONCES

    first, second = (_nonce(teacher.client.get("/settings")) for _ in range(2))
    assert first != second
    assert _create_token(teacher, "tab one", first)[1]
    assert _create_token(teacher, "tab two", second)[1]
    assert _count_tokens(app, teacher) == 2
    oldest = _nonce(teacher.client.get("/settings"))
    for _ in range(MAX_TOKEN_NONCES):
        teacher.client.get("/settings")
    r, token = _create_token(teacher, "too old", oldest)
    assert r.status_code == 303 and token is None
    assert _count_tokens(app, teacher) == 2


def test_a_refused_form_can_be_sent_again(app, teacher):
    """Nothing was created, so the nonce is not spent: the teacher fixes the name (or reloads) and it works."""
    nonce = _nonce(teacher.client.get("/settings"))
    r, token = _create_token(teacher, "  ", nonce)
    assert r.status_code == 400 and token is None
    r, token = _create_token(teacher, "fixed", nonce)
    assert r.status_code == 200 and token
    assert _count_tokens(app, teacher) == 1


def test_the_new_token_page_has_a_copy_button_for_browsers_that_can_copy(teacher):
    r, _ = _create_token(teacher, "Copy me")
    page = r.get_data(as_text=True)
    assert '<button type="button" data-copy="new-token" hidden>Copy</button>' in page  # copy.js unhides it
    assert "/static/copy.js" in page
    assert "/static/copy.js" not in teacher.client.get("/settings").get_data(as_text=True)


def test_token_needs_a_name(app, teacher):
    r, token = _create_token(teacher, "  ")
    assert r.status_code == 400 and token is None
    assert "Give the token a name." in r.get_data(as_text=True)
    with _db(app) as s:
        assert (
            s.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.teacher_id == _teacher_id(app, teacher)))
            == 0
        )


def test_active_tokens_are_capped(app, teacher):
    from attendance_web.account.views import MAX_ACTIVE_TOKENS

    for i in range(MAX_ACTIVE_TOKENS):
        assert _create_token(teacher, f"t{i}")[0].status_code == 200
    r, token = _create_token(teacher, "one too many")
    assert r.status_code == 400 and token is None


def test_revoke_token(app, teacher):
    _, token = _create_token(teacher)
    with _db(app) as s:
        token_id = s.scalar(select(ApiToken.id).where(ApiToken.teacher_id == _teacher_id(app, teacher)))
    r = teacher.client.post("/settings/tokens/revoke", data={"token_id": token_id})
    assert r.status_code == 303
    with _db(app) as s:
        assert s.get(ApiToken, token_id).revoked_at is not None
        events = s.scalars(select(AuditEvent.detail).where(AuditEvent.action == "token_revoked")).all()
        assert any("Moodle sync" in (d or "") for d in events)
        assert all(token not in (d or "") for d in events)
    assert "revoked" in teacher.client.get("/settings").get_data(as_text=True)
    r = app.test_client().get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_revoked"


def test_another_teacher_cannot_revoke_my_token(app, teacher, teacher_factory):
    _, token = _create_token(teacher)
    with _db(app) as s:
        token_id = s.scalar(select(ApiToken.id).where(ApiToken.teacher_id == _teacher_id(app, teacher)))
    bob = teacher_factory("Bob")
    assert bob.client.post("/settings/tokens/revoke", data={"token_id": token_id}).status_code == 404
    assert bob.client.post("/settings/tokens/revoke", data={"token_id": "x"}).status_code == 400
    with _db(app) as s:
        assert s.get(ApiToken, token_id).revoked_at is None
    r = app.test_client().get("/api/v1/courses", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_settings_forms_need_csrf(app):
    """The app fixture switches CSRF off; here it is on, as in production: checked before anything else."""
    from attendance_web import create_app

    browser = create_app(TESTING=True).test_client()
    for url in ("/settings/tokens", "/settings/tokens/revoke", "/settings/retention"):
        r = browser.post(url, data={"name": "x", "token_id": "1", "photo_retention_days": "5"})
        assert r.status_code == 400, url
        assert TOKEN_RE.search(r.get_data(as_text=True)) is None


@pytest.mark.parametrize(
    ("value", "ok"),
    [("30", True), ("1", True), ("3650", True), ("0", False), ("3651", False), ("abc", False), ("", False)],
)
def test_photo_retention(app, teacher, value, ok):
    r = teacher.client.post("/settings/retention", data={"photo_retention_days": value})
    assert r.status_code == (303 if ok else 400)
    with _db(app) as s:
        days = s.get(Teacher, _teacher_id(app, teacher)).photo_retention_days
    assert days == (int(value) if ok else 365)
    if ok and value != "365":
        with _db(app) as s:
            assert s.scalar(
                select(AuditEvent).where(
                    AuditEvent.action == "retention_changed", AuditEvent.teacher_id == _teacher_id(app, teacher)
                )
            )
    if not ok:
        assert '<p class="error">' in r.get_data(as_text=True)


def test_deleting_a_student_removes_their_photos_and_face_templates(app, teacher):
    """Portraits leave the store; FaceEmbedding rows (portrait and assigned-face ones) leave the database.
    Classroom photos show the whole class and stay until the retention period ends."""
    course = teacher.create_course("Biology")
    student = teacher.add_student(course, "Dora Day", "B-1")
    keep = teacher.add_student(course, "Eli East", "B-2")
    teacher.upload_portraits(student, (_jpeg(), "dora1.jpg"), (_jpeg((10, 100, 200)), "dora2.jpg"))
    teacher.upload_portraits(keep, (_jpeg((200, 10, 10)), "eli.jpg"))
    teacher.take_attendance(course, (_jpeg((50, 50, 50)), "room.jpg"))
    teacher_id = _teacher_id(app, teacher)
    store = app.extensions["attendance.store"]
    vector = np.ones(128, dtype=np.float32).tobytes()
    with _db(app) as s:
        photos = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).all()
        keys = [p.storage_key for p in photos]
        assert len(keys) == 2 and all(k.startswith(f"student_photos/{teacher_id}/{student}/") for k in keys)
        room = s.scalar(
            select(SessionPhoto).where(SessionPhoto.original_filename == "room.jpg").order_by(SessionPhoto.id.desc())
        )
        face = DetectedFace(
            session_photo_id=room.id,
            face_index=0,
            box=[0, 0, 9, 9],
            detection_score=0.9,
            decision=FaceDecision.PRESENT,
            student_id=student,
            model_id="m",
            embedding=vector,
        )
        s.add(face)
        s.flush()
        s.add_all(
            [
                FaceEmbedding(student_id=student, student_photo_id=p.id, model_id="m", dim=128, vector=vector)
                for p in photos
            ]
        )
        s.add(FaceEmbedding(student_id=student, detected_face_id=face.id, model_id="m", dim=128, vector=vector))
        other = s.scalar(select(StudentPhoto).where(StudentPhoto.student_id == keep))
        s.add(FaceEmbedding(student_id=keep, student_photo_id=other.id, model_id="m", dim=128, vector=vector))
        other_key, room_key = other.storage_key, room.storage_key
    student_dir = app.config["ATTENDANCE_SETTINGS"].photo_dir / "student_photos" / str(teacher_id) / str(student)
    assert all(store.exists(k) for k in keys) and any(student_dir.iterdir())

    r = teacher.client.post(f"/students/{student}/delete", data={"course_id": course})
    assert r.status_code == 302

    assert not any(store.exists(k) for k in keys)
    assert not student_dir.exists() or not [p for p in student_dir.rglob("*") if p.is_file()]
    with _db(app) as s:
        assert s.get(Student, student) is None
        assert s.scalar(select(func.count()).select_from(StudentPhoto).where(StudentPhoto.student_id == student)) == 0
        assert s.scalar(select(func.count()).select_from(FaceEmbedding).where(FaceEmbedding.student_id == student)) == 0
        assert s.scalar(select(func.count()).select_from(FaceEmbedding).where(FaceEmbedding.student_id == keep)) == 1
        assert s.get(DetectedFace, face.id).student_id is None
        assert s.get(DetectedFace, face.id).embedding is None  # no template left in the classroom detections
    # The other student's portrait and the class photo are untouched.
    assert store.exists(other_key) and store.exists(room_key)


# --- password ---------------------------------------------------------------------------------------


def _signs_in(app, email: str, password: str) -> bool:
    r = app.test_client().post("/login", data={"email": email, "password": password})
    return r.status_code == 302


def test_a_teacher_changes_their_password_with_the_current_one(app, teacher):
    elsewhere = app.test_client()  # the same teacher signed in on another computer
    assert elsewhere.post("/login", data={"email": teacher.email, "password": teacher.password}).status_code == 302
    assert elsewhere.get("/settings").status_code == 200
    form = {"current_password": "not my password", "new_password": "a new long password", "repeat": "another one!"}
    r = teacher.client.post("/settings/password", data=form)
    assert r.status_code == 400 and "The passwords differ." in r.get_data(as_text=True)
    form["repeat"] = form["new_password"]
    r = teacher.client.post("/settings/password", data=form)
    assert r.status_code == 400 and "That is not your current password." in r.get_data(as_text=True)
    same = {"current_password": teacher.password, "new_password": teacher.password, "repeat": teacher.password}
    r = teacher.client.post("/settings/password", data=same)
    assert r.status_code == 400 and "Choose a password different from the current one." in r.get_data(as_text=True)
    r = teacher.client.post("/settings/password", data={**form, "new_password": "short", "repeat": "short"})
    assert r.status_code == 400 and "Use at least 10 characters." in r.get_data(as_text=True)
    assert _signs_in(app, teacher.email, teacher.password)

    form["current_password"] = teacher.password
    r = teacher.client.post("/settings/password", data=form)
    assert r.status_code == 303
    assert "Your password is changed" in teacher.client.get(r.location).get_data(as_text=True)  # still signed in
    assert _signs_in(app, teacher.email, "a new long password")
    assert not _signs_in(app, teacher.email, teacher.password)
    assert elsewhere.get("/settings").status_code == 302  # signed out there
    with _db(app) as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .join(Teacher, Teacher.id == AuditEvent.teacher_id)
            .where(Teacher.email == teacher.email)
        ).all()
    assert "password_changed" in actions and "password_change_refused" in actions


def test_the_it_administrator_sets_a_forgotten_password(app, teacher):
    runner = app.test_cli_runner()
    done = runner.invoke(args=["teachers", "set-password", teacher.email.upper(), "--password", "reset by the admin"])
    assert done.exit_code == 0, done.output
    assert f"New password set for {teacher.email}" in done.output
    assert _signs_in(app, teacher.email, "reset by the admin")
    unknown = runner.invoke(args=["teachers", "set-password", "nobody@school.example.org", "--password", "x" * 12])
    assert unknown.exit_code != 0 and "No teacher account has the email" in unknown.output
    short = runner.invoke(args=["teachers", "set-password", teacher.email, "--password", "short"])
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_an_invalid_field_is_marked_for_screen_readers(teacher):
    r = teacher.client.post("/settings/password", data={"current_password": "", "new_password": "x", "repeat": "x"})
    html = r.get_data(as_text=True)
    field = html[html.index('id="new_password"') - 200 : html.index('id="new_password"') + 300]
    assert 'aria-invalid="true"' in field and 'aria-describedby="new_password-error"' in field
    assert '<div id="new_password-error"><p class="error">Use at least 10 characters.</p></div>' in html
    assert html.count('aria-invalid="true"') == 2  # current_password and new_password; repeat is fine


def test_the_privacy_text_names_the_delete_button_as_the_student_page_shows_it(teacher):
    """The settings page tells the teacher which button to press: its words must be the button's own."""
    course = teacher.create_course("Civics")
    student = teacher.add_student(course, "Ann Example", "7001")
    student_page = html.unescape(teacher.client.get(f"/students/{student}").get_data(as_text=True))
    buttons = re.findall(r"<button[^>]*>\s*(Delete student[^<]*?)\s*</button>", student_page)
    assert buttons == ["Delete student, their photos and attendance"]
    settings_page = html.unescape(teacher.client.get("/settings").get_data(as_text=True))
    assert f"<em>{buttons[0]}</em>" in settings_page
    assert "Delete student and all their photos" not in settings_page


def test_a_guessable_new_password_is_refused_with_the_reason(app, teacher):
    for weak, reason in (("password12", "one of the most common passwords"), ("aaaaaaaaaa", "it repeats")):
        form = {"current_password": teacher.password, "new_password": weak, "repeat": weak}
        r = teacher.client.post("/settings/password", data=form)
        assert r.status_code == 400 and "This password is too easy to guess" in r.get_data(as_text=True)
        assert reason in r.get_data(as_text=True)
    assert _signs_in(app, teacher.email, teacher.password)  # unchanged
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["teachers", "set-password", teacher.email, "--password", "1234567890"])
    assert weak.exit_code != 0 and "one of the most common passwords" in weak.output
    assert _signs_in(app, teacher.email, teacher.password)


def test_the_it_administrators_new_password_signs_out_every_browser(app, teacher):
    remembered = app.test_client()
    r = remembered.post("/login", data={"email": teacher.email, "password": teacher.password, "remember": "y"})
    assert r.status_code == 302
    copy = app.test_client()
    copy.set_cookie("remember_token", remembered.get_cookie("remember_token").value)
    assert copy.get("/settings").status_code == 200 and teacher.client.get("/settings").status_code == 200
    done = app.test_cli_runner().invoke(
        args=["teachers", "set-password", teacher.email, "--password", "reset by the admin"]
    )
    assert done.exit_code == 0, done.output
    for browser in (teacher.client, remembered, copy):
        assert browser.get("/settings").status_code == 302


def test_sign_out_everywhere_ends_every_session_this_one_included(app, teacher):
    remembered = app.test_client()
    r = remembered.post("/login", data={"email": teacher.email, "password": teacher.password, "remember": "y"})
    assert r.status_code == 302
    copy = app.test_client()
    copy.set_cookie("remember_token", remembered.get_cookie("remember_token").value)
    page = teacher.client.get("/settings").get_data(as_text=True)
    assert 'action="/settings/sign-out-everywhere"' in page and ">Sign out everywhere</button>" in page
    r = teacher.client.post("/settings/sign-out-everywhere")
    assert r.status_code == 303 and r.location.endswith("/login")
    assert "You are signed out on every browser and device" in teacher.client.get(r.location).get_data(as_text=True)
    for browser in (teacher.client, remembered, copy):
        assert browser.get("/settings").status_code == 302
    assert _signs_in(app, teacher.email, teacher.password)  # the password is unchanged
    with _db(app) as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .join(Teacher, Teacher.id == AuditEvent.teacher_id)
            .where(Teacher.email == teacher.email)
        ).all()
    assert "signed_out_everywhere" in actions
