"""A school: the first account is its admin; invitations and password resets are single-use links; an admin
disables a teacher at once; sign-up by invitation only when SIGNUP=invite; links e-mailed through real SMTP."""

from __future__ import annotations

import datetime as dt
import email
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from attendance_shared.db import session_scope
from attendance_shared.models import AccountLink, School, Teacher, TeacherRole
from tests.conftest import TeacherClient, free_port, port_open, stop_process, wait_for

PASSWORD = "correct horse battery"
NEW_PASSWORD = "violet staple engine river"


def _db(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def _link(page: bytes) -> str:
    found = re.search(rb'id="new-link" type="text" value="([^"]+)"', page)
    assert found, page[:2000]
    return found.group(1).decode().replace("http://localhost", "")


def _invite(admin: TeacherClient, address: str, role: str = "teacher") -> str:
    r = admin.client.post("/school/invitations", data={"email": address, "role": role})
    assert r.status_code == 201, r.data[:500]
    return _link(r.data)


def _join(app, link: str, name: str) -> TeacherClient:
    anonymous = app.test_client()
    assert anonymous.get(link).status_code == 200
    r = anonymous.post(link, data={"name": name, "password": PASSWORD, "confirm": PASSWORD})
    assert r.status_code == 303 and r.location.endswith("/login"), r.data[:500]
    return anonymous


def _sign_in(app, address: str, password: str = PASSWORD) -> TeacherClient:
    client = app.test_client()
    r = client.post("/login", data={"email": address, "password": password})
    assert r.status_code == 302, r.data[:300]
    return TeacherClient(client, address, password)


def test_a_sign_up_opens_a_school_whose_admin_invites_a_teacher_into_it(app, teacher_factory):
    admin = teacher_factory("Ada")
    page = admin.client.get("/school")
    assert page.status_code == 200 and b"Invite a teacher" in page.data
    address = f"new-{id(admin)}@school.example.org"
    link = _invite(admin, address)
    _join(app, link, "Newt")
    newt = _sign_in(app, address)
    with session_scope(_db(app)) as s:
        ada = s.scalar(select(Teacher).where(Teacher.email == admin.email))
        new = s.scalar(select(Teacher).where(Teacher.email == address))
        assert ada.role is TeacherRole.ADMIN and ada.school.name == "Ada's school"
        assert new.school_id == ada.school_id and new.role is TeacherRole.TEACHER
    # a teacher is not an admin: no School page, not even its address
    assert newt.client.get("/school").status_code == 404
    assert b">School<" not in newt.client.get("/").data
    assert b">School<" in admin.client.get("/").data
    # the link worked once
    again = app.test_client().get(link)
    assert again.status_code == 404 and b"does not work any more" in again.data


def test_an_expired_or_revoked_invitation_opens_nothing(app, teacher_factory):
    admin = teacher_factory("Ada")
    expired = _invite(admin, f"late-{id(admin)}@school.example.org")
    revoked = _invite(admin, f"gone-{id(admin)}@school.example.org")
    with session_scope(_db(app)) as s:
        s.execute(
            update(AccountLink)
            .where(AccountLink.email == f"late-{id(admin)}@school.example.org")
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
        link_id = s.scalar(select(AccountLink.id).where(AccountLink.email == f"gone-{id(admin)}@school.example.org"))
    r = admin.client.post(f"/school/invitations/{link_id}/revoke")
    assert r.status_code == 303
    for link in (expired, revoked):
        r = app.test_client().post(link, data={"name": "X", "password": PASSWORD, "confirm": PASSWORD})
        assert r.status_code == 404
    with session_scope(_db(app)) as s:
        assert s.scalar(select(Teacher).where(Teacher.email.like(f"%-{id(admin)}@school.example.org"))) is None


def test_a_new_invitation_replaces_the_older_one_and_an_existing_address_is_refused(app, teacher_factory):
    admin = teacher_factory("Ada")
    address = f"twice-{id(admin)}@school.example.org"
    first, second = _invite(admin, address), _invite(admin, address)
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200
    other = teacher_factory("Bob")
    r = admin.client.post("/school/invitations", data={"email": other.email, "role": "teacher"})
    assert r.status_code == 400 and b"already has an account" in r.data


def test_disabling_a_teacher_signs_them_out_at_once_and_enabling_lets_them_back(app, teacher_factory):
    admin = teacher_factory("Ada")
    address = f"leaver-{id(admin)}@school.example.org"
    _join(app, _invite(admin, address), "Leaver")
    leaver = _sign_in(app, address)
    assert leaver.client.get("/").status_code == 200
    with session_scope(_db(app)) as s:
        leaver_id = s.scalar(select(Teacher.id).where(Teacher.email == address))
    r = admin.client.post(f"/school/teachers/{leaver_id}/disable", follow_redirects=True)
    assert b"Leaver is disabled" in r.data
    assert leaver.client.get("/").status_code == 302  # the open session ended
    r = app.test_client().post("/login", data={"email": address, "password": PASSWORD})
    assert r.status_code == 403
    admin.client.post(f"/school/teachers/{leaver_id}/enable")
    _sign_in(app, address)


def test_the_last_admin_cannot_be_disabled_from_the_page(app, teacher_factory):
    admin = teacher_factory("Ada")
    with session_scope(_db(app)) as s:
        ada_id = s.scalar(select(Teacher.id).where(Teacher.email == admin.email))
    r = admin.client.post(f"/school/teachers/{ada_id}/disable", follow_redirects=True)
    assert b"only admin" in r.data
    assert admin.client.get("/").status_code == 200


def test_a_password_reset_link_sets_a_new_password_once_and_ends_every_session(app, teacher_factory):
    admin = teacher_factory("Ada")
    address = f"forgot-{id(admin)}@school.example.org"
    _join(app, _invite(admin, address), "Forgetful")
    signed_in = _sign_in(app, address)
    with session_scope(_db(app)) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == address))
    r = admin.client.post(f"/school/teachers/{teacher_id}/reset-link")
    assert r.status_code == 201
    link = _link(r.data)
    anonymous = app.test_client()
    r = anonymous.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 303
    assert signed_in.client.get("/").status_code == 302
    assert app.test_client().post("/login", data={"email": address, "password": PASSWORD}).status_code == 401
    _sign_in(app, address, NEW_PASSWORD)
    assert anonymous.get(link).status_code == 404


def test_another_schools_admin_reaches_none_of_it(app, teacher_factory):
    ada, bob = teacher_factory("Ada"), teacher_factory("Bob")
    with session_scope(_db(app)) as s:
        ada_id = s.scalar(select(Teacher.id).where(Teacher.email == ada.email))
    for path in (f"/school/teachers/{ada_id}/disable", f"/school/teachers/{ada_id}/reset-link"):
        assert bob.client.post(path).status_code == 404
    assert b"Ada" not in bob.client.get("/school").data


@pytest.fixture()
def fresh_installation(tmp_path, monkeypatch):
    """An installation with no school yet, sign-up by invitation (production's default)."""
    from attendance_shared import migrate
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SIGNUP", "invite")
    migrate.upgrade(url, "head")
    get_settings.cache_clear()
    app = create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    yield app
    get_settings.cache_clear()


def test_invite_only_lets_the_first_account_open_the_school_and_nobody_after(fresh_installation):
    app = fresh_installation
    signup = {"name": "Ada", "email": "ada@school.example.org", "password": PASSWORD, "confirm": PASSWORD}
    r = app.test_client().post("/signup", data={**signup, "school_name": "Lincoln Middle"})
    assert r.status_code == 303
    page = app.test_client().get("/signup")
    assert b"Accounts are made by invitation" in page.data
    assert b"Sign up" not in app.test_client().get("/login").data
    r = app.test_client().post("/signup", data={**signup, "email": "eve@school.example.org"})
    assert r.status_code == 403
    with session_scope(_db(app)) as s:
        assert [(t.email, t.role, t.school.name) for t in s.scalars(select(Teacher))] == [
            ("ada@school.example.org", TeacherRole.ADMIN, "Lincoln Middle")
        ]
        assert s.scalar(select(School.name)) == "Lincoln Middle"


@pytest.fixture()
def smtp_server(tmp_path, monkeypatch):
    """aiosmtpd, a real SMTP server, in its own process on loopback, delivering into a Maildir."""
    port = free_port()
    maildir = tmp_path / "maildir"
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox",
         str(maildir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(lambda: port_open(port), 20, 0.1, "the SMTP server")
        monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("MAIL_FROM", "Attendance <attendance@school.example.org>")
        yield maildir
    finally:
        stop_process(proc, timeout=5)


def _messages(maildir: Path) -> list[email.message.Message]:
    return [email.message_from_bytes(p.read_bytes()) for p in sorted((maildir / "new").glob("*"))]


def test_an_invitation_is_e_mailed_through_smtp_when_it_is_set_up(smtp_server, teacher_factory):
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    app = create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    admin_client = app.test_client()
    admin = TeacherClient(admin_client, f"mailer-{id(app)}@school.example.org").signup("Ada")
    address = f"by-mail-{id(app)}@school.example.org"
    r = admin.client.post("/school/invitations", data={"email": address, "role": "teacher"})
    assert r.status_code == 201 and f"It was also e-mailed to {address}".encode() in r.data
    link = _link(r.data)
    (message,) = wait_for(lambda: _messages(smtp_server), 10, 0.1, "the e-mail")
    assert message["To"] == address and message["From"] == "Attendance <attendance@school.example.org>"
    assert link in message.get_payload(decode=True).decode()
    get_settings.cache_clear()


def test_a_mail_server_that_is_down_still_gives_the_link_to_copy(database, monkeypatch):
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")
    get_settings.cache_clear()
    app = create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    admin = TeacherClient(app.test_client(), f"down-{id(app)}@school.example.org").signup("Ada")
    r = admin.client.post("/school/invitations", data={"email": f"x-{id(admin)}@school.example.org"})
    get_settings.cache_clear()
    assert r.status_code == 201 and b"could not be sent" in r.data
    assert _link(r.data).startswith("/join/")
