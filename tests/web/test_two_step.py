"""Two-step sign-in (auth.two_step): set up under Settings with a current code, then every sign-in asks for a code
after the password; a code works once; a wrong one is refused and counted; turning it off needs the password and a
code; in production an admin cannot use the app before setting it up."""

from __future__ import annotations

import re
import time

import pyotp
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import Teacher

PASSWORD = "correct horse battery"


def _secret_from_setup_page(client) -> str:
    page = client.get("/settings/two-step")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    uri = re.search(r'href="(otpauth://[^"]+)"', page.get_data(as_text=True))
    assert uri, page.get_data(as_text=True)[:2000]
    totp = pyotp.parse_uri(uri.group(1).replace("&amp;", "&"))
    shown = re.search(r'id="totp-secret"[^>]*value="([A-Z2-7 ]+)"', page.get_data(as_text=True))
    assert shown and shown.group(1).replace(" ", "") == totp.secret
    return str(totp.secret)


def _code(secret: str, steps_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


def _turn_on(teacher) -> str:
    secret = _secret_from_setup_page(teacher.client)
    r = teacher.client.post("/settings/two-step", data={"code": _code(secret)})
    assert r.status_code == 303, r.get_data(as_text=True)[:1000]
    assert "Two-step sign-in is on" in teacher.client.get("/settings").get_data(as_text=True)
    return secret


def _row(app, email: str) -> Teacher:
    with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
        teacher = s.scalar(select(Teacher).where(Teacher.email == email))
        assert teacher is not None
        s.expunge(teacher)
        return teacher


def _password_step(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_turning_it_on_needs_a_current_code_and_stores_the_secret_sealed(app, teacher):
    secret = _secret_from_setup_page(teacher.client)
    r = teacher.client.post("/settings/two-step", data={"code": "000000" if _code(secret) != "000000" else "111111"})
    assert r.status_code == 400 and "That code is not right" in r.get_data(as_text=True)
    assert _row(app, teacher.email).totp_secret is None
    assert _secret_from_setup_page(teacher.client) == secret  # the same key until it is confirmed
    teacher.client.post("/settings/two-step", data={"code": _code(secret)})
    stored = _row(app, teacher.email).totp_secret
    assert stored and secret not in stored  # sealed, not the key itself


def test_sign_in_asks_for_the_code_after_the_password(app, client, teacher):
    secret = _turn_on(teacher)
    r = _password_step(client, teacher.email)
    assert r.status_code == 303 and r.location.endswith("/login/code")
    assert client.get("/").status_code == 302  # half signed in is not signed in
    page = client.get("/login/code")
    assert page.status_code == 200 and "authenticator app" in page.get_data(as_text=True)
    r = client.post("/login/code", data={"code": _code(secret, +1)})  # the next step's code, a phone a little ahead
    assert r.status_code == 302
    assert b"My courses" in client.get("/").data


def test_a_code_cannot_be_replayed(app, client, teacher):
    secret = _turn_on(teacher)  # spends the current code
    _password_step(client, teacher.email)
    r = client.post("/login/code", data={"code": _code(secret)})
    assert r.status_code == 401 and "used already" in r.get_data(as_text=True)
    assert client.get("/").status_code == 302
    older = _code(secret, -1)
    assert client.post("/login/code", data={"code": older}).status_code == 401  # nor an older one
    assert client.post("/login/code", data={"code": _code(secret, +1)}).status_code == 302
    other = app.test_client()
    _password_step(other, teacher.email)
    assert other.post("/login/code", data={"code": _code(secret, +1)}).status_code == 401  # spent on the first


def test_a_wrong_code_is_refused_and_counts_toward_the_sign_in_limit(database, teacher_factory):
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    limited = create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=True)
    teacher = teacher_factory("Zed")
    secret = _turn_on(teacher)
    client = limited.test_client()
    assert _password_step(client, teacher.email).status_code == 303
    wrong = "123456" if _code(secret) != "123456" else "654321"
    statuses = [client.post("/login/code", data={"code": wrong}).status_code for _ in range(9)]
    assert set(statuses) == {401}
    assert _password_step(client, teacher.email, "not the password").status_code == 401  # the tenth failure
    assert client.post("/login/code", data={"code": _code(secret, +1)}).status_code == 429
    assert _password_step(client, teacher.email).status_code == 429


def test_the_code_page_ends_when_the_account_changes_or_without_a_password(app, client, teacher):
    assert client.get("/login/code").status_code == 303  # no password given
    secret = _turn_on(teacher)
    _password_step(client, teacher.email)
    teacher.client.post("/settings/sign-out-everywhere")  # the account's sessions end
    r = client.post("/login/code", data={"code": _code(secret, +1)})
    assert r.status_code == 303 and r.location.endswith("/login")
    assert client.get("/").status_code == 302


def test_turning_it_off_needs_the_password_and_a_code(app, teacher):
    secret = _turn_on(teacher)  # spends the current code
    off = teacher.client.post
    off("/settings/two-step/off", data={"password": "wrong password", "code": _code(secret, +1)})
    off("/settings/two-step/off", data={"password": PASSWORD, "code": ""})
    off("/settings/two-step/off", data={"password": PASSWORD, "code": _code(secret, -1)})  # older than the last used
    assert _row(app, teacher.email).totp_secret is not None
    r = off("/settings/two-step/off", data={"password": PASSWORD, "code": _code(secret, +1)})
    assert r.status_code == 303 and _row(app, teacher.email).totp_secret is None
    assert _password_step(app.test_client(), teacher.email).status_code == 302  # the password alone signs in again


def test_in_production_an_admin_sets_it_up_before_anything_else(app, teacher):
    """The teacher signed up first, so is their school's admin; production makes them set up two-step sign-in."""
    settings = app.config["ATTENDANCE_SETTINGS"]
    app.config["ATTENDANCE_SETTINGS"] = settings.model_copy(update={"flask_env": "production"})
    try:
        client = teacher.client
        for path in ("/", "/school", "/settings", "/courses/1"):
            r = client.get(path)
            assert r.status_code == 302 and r.location.endswith("/settings/two-step"), path
        page = client.get("/settings/two-step").get_data(as_text=True)
        assert "As an admin of your school" in page
        totp = pyotp.parse_uri(re.search(r'href="(otpauth://[^"]+)"', page).group(1).replace("&amp;", "&"))
        assert client.post("/settings/two-step", data={"code": totp.now()}).status_code == 303
        assert client.get("/").status_code == 200
        assert client.get("/school").status_code == 200
    finally:
        app.config["ATTENDANCE_SETTINGS"] = settings
    assert teacher.client.get("/").status_code == 200


def test_it_turns_it_off_for_a_lost_phone_from_the_command_line(app, teacher):
    _turn_on(teacher)
    done = app.test_cli_runner().invoke(args=["teachers", "two-step-off", teacher.email])
    assert done.exit_code == 0 and "Two-step sign-in is off" in done.output
    assert _row(app, teacher.email).totp_secret is None
    assert teacher.client.get("/").status_code == 302  # signed out everywhere
    assert _password_step(app.test_client(), teacher.email).status_code == 302
