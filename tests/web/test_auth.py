"""Sign-up, log-in, log-out; wrong passwords refused; CSRF required on real forms; sessions that end on the
server; a password policy that refuses guessable passwords; sign-up that does not say who has an account."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import Teacher

PASSWORD = "a long enough password"
SIGNED_UP = "Your account is ready if this address had none"


def _email() -> str:
    return f"t-{uuid.uuid4().hex[:8]}@school.example.org"


def _signup(client, email: str, password: str = PASSWORD, name: str = "Ann"):
    return client.post("/signup", data={"name": name, "email": email, "password": password, "confirm": password})


def _login(client, email: str, password: str = PASSWORD, **extra: str):
    return client.post("/login", data={"email": email, "password": password, **extra})


def _db(app):
    return session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url)


def test_signup_login_logout(client):
    email = _email()
    r = _signup(client, email)
    assert r.status_code == 303 and r.location.endswith("/login")
    page = client.get(r.location).get_data(as_text=True)
    assert SIGNED_UP in page and f'value="{email}"' in page  # the address is filled in for the sign-in
    assert client.get("/").status_code == 302  # signed up, not yet signed in
    r = _login(client, email.upper())
    assert r.status_code == 302
    assert b"My courses" in client.get("/").data
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_wrong_password_is_refused(client):
    email = _email()
    _signup(client, email)
    r = _login(client, email, "not the password")
    assert r.status_code == 401
    assert b"do not match" in r.data
    assert client.get("/").status_code == 302
    r = _login(client, "nobody@school.example.org", "whatever12345")
    assert r.status_code == 401


def test_sign_up_does_not_say_whether_an_address_has_an_account(app):
    """A taken address gets the very answer a new one gets, and its account is left as it was."""
    email = _email()
    first, second = app.test_client(), app.test_client()
    new = _signup(first, email, name="Ann")
    taken = _signup(second, email, "another strong passphrase", name="Mallory")
    assert (new.status_code, new.location) == (taken.status_code, taken.location) == (303, "/login")
    new_page, taken_page = (c.get("/login").get_data(as_text=True) for c in (first, second))
    assert SIGNED_UP in new_page and new_page == taken_page  # the same words, the address filled in
    assert _login(app.test_client(), email, "another strong passphrase").status_code == 401
    assert _login(app.test_client(), email).status_code == 302  # the first account, untouched
    with _db(app) as s:
        teachers = s.scalars(select(Teacher).where(func.lower(Teacher.email) == email)).all()
        assert [t.name for t in teachers] == ["Ann"]


def test_short_password(client):
    r = _signup(client, _email(), "short")
    assert r.status_code == 400 and b"at least 10 characters" in r.data


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("aaaaaaaaaa", "it repeats characters"),
        ("1234567890", "it is one of the most common passwords"),
        ("password12", "it is one of the most common passwords"),
        ("qwertyuiop", "it is one of the most common passwords"),
        ("abcdefghijkl", "it is a sequence"),
        ("Ann Example 2026", "it is built from your name, your email address"),
    ],
)
def test_a_guessable_password_is_refused_with_the_reason(client, password, reason):
    email = _email()
    r = client.post("/signup", data={"name": "Ann Example", "email": email, "password": password, "confirm": password})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert f"This password is too easy to guess: {reason}" in page.replace("&#39;", "'")
    assert _login(client, email, password).status_code == 401  # no account was made


def test_passwords_are_hashed_strongly(app, client):
    email = _email()
    _signup(client, email)
    with _db(app) as s:
        teacher = s.scalar(select(Teacher).where(Teacher.email == email))
        assert teacher is not None
        assert teacher.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert PASSWORD not in teacher.password_hash


def test_forms_require_csrf_token():
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    app = create_app(TESTING=True)  # CSRF on, as in production
    client = app.test_client()
    form = {"name": "A", "email": _email(), "password": PASSWORD, "confirm": PASSWORD}
    r = client.post("/signup", data=form)
    assert r.status_code == 400
    page = client.get("/signup").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/signup", data={"csrf_token": token, **form})
    assert r.status_code == 303


def test_open_redirect_is_refused(client):
    email = _email()
    _signup(client, email)
    r = client.post("/login?next=https://evil.example/", data={"email": email, "password": PASSWORD})
    assert r.status_code == 302 and "evil" not in r.location


def test_the_first_visit_of_home_goes_to_log_in_without_an_error(client):
    """A first visit of / is no mistake: the log-in page, no "please log in" message."""
    r = client.get("/")
    assert r.status_code == 302 and r.location.endswith("/login")
    page = client.get(r.location).get_data(as_text=True)
    assert "Please log in" not in page and 'class="flash' not in page


def test_another_page_says_why_as_a_notice_and_comes_back(client):
    r = client.get("/settings")
    assert r.status_code == 302 and "/login?next=" in r.location
    page = client.get(r.location).get_data(as_text=True)
    assert '<li class="flash info">Please log in to see that page.</li>' in page


# --- sessions end on the server ----------------------------------------------------------------------


def _copy(app, cookie_source, *names: str):
    """Another browser holding copies of the named cookies (as someone who read them would)."""
    other = app.test_client()
    for name in names:
        cookie = cookie_source.get_cookie(name)
        assert cookie is not None, name
        other.set_cookie(name, cookie.value)
    return other


def test_log_out_ends_copies_of_the_session_and_remember_me_cookies(app):
    email = _email()
    browser = app.test_client()
    _signup(browser, email)
    assert _login(browser, email, remember="y").status_code == 302
    copied_session = _copy(app, browser, "session")
    copied_remember = _copy(app, browser, "remember_token")
    elsewhere = app.test_client()
    assert _login(elsewhere, email).status_code == 302
    for other in (copied_session, copied_remember, elsewhere):
        assert other.get("/settings").status_code == 200
    assert browser.post("/logout").status_code == 302
    for other in (copied_session, copied_remember, elsewhere):
        assert other.get("/settings").status_code == 302  # to the sign-in page
    assert _login(browser, email).status_code == 302  # signing in again works
    assert copied_session.get("/settings").status_code == 302  # an old copy stays dead


def test_remember_me_lasts_thirty_days_at_most(app, monkeypatch):
    import attendance_web.auth.user as user

    email = _email()
    browser = app.test_client()
    _signup(browser, email)
    r = _login(browser, email, remember="y")
    cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = dt.datetime.strptime(re.search(r"Expires=([^;]+)", cookie).group(1), "%a, %d %b %Y %H:%M:%S GMT")
    assert dt.timedelta(days=29) < expires - dt.datetime.now(dt.UTC).replace(tzinfo=None) <= dt.timedelta(days=30)
    remembered = _copy(app, browser, "remember_token")
    assert remembered.get("/settings").status_code == 200
    real_time = time.time
    monkeypatch.setattr(user.time, "time", lambda: real_time() + 31 * 86400)  # a copied cookie, 31 days later
    assert _copy(app, browser, "remember_token").get("/settings").status_code == 302
    assert browser.get("/settings").status_code == 302  # the session from that sign-in too


def test_a_disabled_account_is_signed_out_everywhere_and_cannot_sign_in(app, teacher):
    from attendance_web.api.tokens import create_token

    with app.test_request_context():
        from attendance_web.extensions import db

        with _db(app) as s:
            teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == teacher.email))
        _row, token = create_token(teacher_id, "sync")
        db().commit()
    api = {"Authorization": f"Bearer {token}"}
    assert teacher.client.get("/api/v1/courses", headers=api).status_code == 200
    runner = app.test_cli_runner()
    done = runner.invoke(args=["teachers", "disable", teacher.email])
    assert done.exit_code == 0 and "is disabled" in done.output
    assert teacher.client.get("/settings").status_code == 302
    r = _login(app.test_client(), teacher.email, teacher.password)
    assert r.status_code == 403 and "This account is disabled" in r.get_data(as_text=True)
    assert _login(app.test_client(), teacher.email, "a wrong password!").status_code == 401  # says nothing more
    r = teacher.client.get("/api/v1/courses", headers=api)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "token_revoked"
    assert runner.invoke(args=["teachers", "enable", teacher.email]).exit_code == 0
    assert _login(app.test_client(), teacher.email, teacher.password).status_code == 302
    with _db(app) as s:
        assert s.scalar(select(Teacher.disabled_at).where(Teacher.id == teacher_id)) is None
