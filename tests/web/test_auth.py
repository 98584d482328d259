"""Sign-up, log-in, log-out; wrong passwords refused; CSRF required on real forms."""

from __future__ import annotations

import re
import uuid


def _email() -> str:
    return f"t-{uuid.uuid4().hex[:8]}@school.example.org"


def test_signup_login_logout(client):
    email, password = _email(), "a long enough password"
    r = client.post("/signup", data={"name": "Ann", "email": email, "password": password, "confirm": password})
    assert r.status_code == 302 and r.location.endswith("/")
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302  # back to the login page
    r = client.post("/login", data={"email": email.upper(), "password": password})
    assert r.status_code == 302
    assert b"My courses" in client.get("/").data


def test_wrong_password_is_refused(client):
    email, password = _email(), "a long enough password"
    client.post("/signup", data={"name": "Ann", "email": email, "password": password, "confirm": password})
    client.post("/logout")
    r = client.post("/login", data={"email": email, "password": "not the password"})
    assert r.status_code == 401
    assert b"do not match" in r.data
    assert client.get("/").status_code == 302
    r = client.post("/login", data={"email": "nobody@school.example.org", "password": "whatever12345"})
    assert r.status_code == 401


def test_duplicate_email_and_short_password(client):
    email = _email()
    client.post("/signup", data={"name": "A", "email": email, "password": "x" * 12, "confirm": "x" * 12})
    client.post("/logout")
    r = client.post("/signup", data={"name": "B", "email": email, "password": "y" * 12, "confirm": "y" * 12})
    assert r.status_code == 400 and b"already exists" in r.data
    r = client.post("/signup", data={"name": "C", "email": _email(), "password": "short", "confirm": "short"})
    assert r.status_code == 400 and b"at least 10 characters" in r.data


def test_passwords_are_hashed_strongly(app, client):
    from sqlalchemy import select

    from attendance_shared.db import session_scope
    from attendance_shared.models import Teacher

    email = _email()
    client.post("/signup", data={"name": "A", "email": email, "password": "p" * 12, "confirm": "p" * 12})
    with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
        teacher = s.scalar(select(Teacher).where(Teacher.email == email))
        assert teacher is not None
        assert teacher.password_hash.startswith(("scrypt:", "pbkdf2:"))
        assert "p" * 12 not in teacher.password_hash


def test_forms_require_csrf_token():
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    app = create_app(TESTING=True)  # CSRF on, as in production
    client = app.test_client()
    r = client.post("/signup", data={"name": "A", "email": _email(), "password": "p" * 12, "confirm": "p" * 12})
    assert r.status_code == 400
    page = client.get("/signup").data.decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post(
        "/signup", data={"csrf_token": token, "name": "A", "email": _email(), "password": "p" * 12, "confirm": "p" * 12}
    )
    assert r.status_code == 302


def test_open_redirect_is_refused(client):
    email, password = _email(), "a long enough password"
    client.post("/signup", data={"name": "Ann", "email": email, "password": password, "confirm": password})
    client.post("/logout")
    r = client.post("/login?next=https://evil.example/", data={"email": email, "password": password})
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
