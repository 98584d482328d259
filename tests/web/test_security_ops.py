"""Login rate limiting, the audit log, request ids, JSON logs and the metrics endpoint."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import AuditEvent, Teacher
from attendance_shared.settings import Settings, get_settings
from attendance_web import create_app


def _limited_app(monkeypatch, **limits: str):
    for name, value in limits.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    # A fresh key prefix: counters of other tests (and other runs) never interfere.
    return create_app(Settings(), TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_KEY_PREFIX=f"rl-{uuid.uuid4().hex}")


PASSWORD = "correct horse battery"


def _signed_up(client) -> str:
    email = f"limit-{uuid.uuid4().hex[:8]}@school.example.org"
    form = {"name": "T", "email": email, "password": PASSWORD, "confirm": PASSWORD}
    assert client.post("/signup", data=form).status_code == 303
    return email


def test_default_limits_let_a_school_sign_in_together():
    s = Settings()
    assert s.login_limit_per_address.startswith("60 per minute")  # staff behind one NAT address at 8 am
    assert s.login_limit_per_account.startswith("10 per minute")


def test_login_is_rate_limited_per_address(monkeypatch, database):
    client = _limited_app(monkeypatch, LOGIN_LIMIT_PER_ADDRESS="8 per minute").test_client()
    codes = [
        client.post("/login", data={"email": f"x{i}@school.example.org", "password": "wrong-password"}).status_code
        for i in range(9)
    ]
    assert codes[:8] == [401] * 8
    assert codes[-1] == 429
    r = client.post("/login", data={"email": "x@school.example.org", "password": "wrong-password"})
    assert b"Too many attempts" in r.data


def test_login_is_rate_limited_per_account_across_addresses(monkeypatch, database):
    client = _limited_app(monkeypatch).test_client()
    email = f"victim-{uuid.uuid4().hex[:6]}@school.example.org"
    codes = []
    for i in range(11):
        env = {"REMOTE_ADDR": f"10.1.{i // 250}.{i % 250 + 1}"}
        codes.append(client.post("/login", data={"email": email, "password": "guess"}, environ_base=env).status_code)
    assert codes[:10] == [401] * 10 and codes[10] == 429


def test_audit_log_records_sign_ins_failures_and_deletions(teacher):
    teacher.client.post("/logout")
    teacher.client.post("/login", data={"email": teacher.email, "password": "wrong password"})
    teacher.client.post("/login", data={"email": teacher.email, "password": teacher.password})
    course = teacher.create_course("Audit")
    student = teacher.add_student(course, "Dora", "77")
    teacher.client.post(f"/students/{student}/delete")
    teacher.client.post(f"/courses/{course}/delete")
    with session_scope(get_settings().sqlalchemy_url) as s:
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == teacher.email))
        events = s.scalars(select(AuditEvent).where(AuditEvent.teacher_id == teacher_id).order_by(AuditEvent.id)).all()
        actions = [e.action for e in events]
        assert all(e.ip for e in events)
        assert all(teacher.password not in (e.detail or "") for e in events)
    assert actions == ["signup", "login", "logout", "login_failed", "login", "student_deleted", "course_deleted"]


def test_request_id_is_echoed_or_made(client):
    r = client.get("/login", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    r = client.get("/login", headers={"X-Request-ID": "bad id <script>"})
    assert r.headers["X-Request-ID"] != "bad id <script>" and len(r.headers["X-Request-ID"]) == 32


def test_logs_are_json_with_request_id_and_no_secrets(client):
    import io

    from attendance_shared.logs import json_handler

    stream = io.StringIO()
    handler = json_handler("web", stream)
    logger = logging.getLogger("attendance.web.request")
    logger.addHandler(handler)
    try:
        client.get("/login", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
    line = json.loads([x for x in stream.getvalue().splitlines() if "req-42" in x][-1])
    assert line["request_id"] == "req-42" and line["service"] == "web" and line["level"] == "INFO"


def test_log_lines_redact_secrets_in_messages_urls_and_tracebacks(monkeypatch):
    import io

    from attendance_shared.logs import json_handler

    monkeypatch.setenv("SECRET_KEY", "test-secret-key-of-some-length")
    monkeypatch.setenv("DATABASE_URL", "postgres://attendance:pa%24%24word-9f-rds@db.example:5432/attendance")
    stream = io.StringIO()
    handler = json_handler("worker", stream)  # reads the environment when made, as at process start
    logger = logging.getLogger("attendance.test.redaction")
    logger.addHandler(handler)
    try:
        logger.warning("signing with %s", "test-secret-key-of-some-length")
        try:  # the driver's own spelling of the URL, inside an exception
            raise ConnectionError("postgresql+psycopg2://attendance:pa$$word-9f-rds@db.example:5432/attendance refused")
        except ConnectionError:
            logger.exception("database down")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "test-secret-key-of-some-length" not in out and "pa$$word" not in out and "pa%24%24word" not in out
    assert out.count("[redacted]") >= 2 and "Traceback" in out and "db.example" in out


def test_a_short_everyday_url_password_does_not_blank_out_words():
    from attendance_shared.logs import secret_values

    compose = {"DATABASE_URL": "postgresql://attendance:attendance@db:5432/attendance"}
    assert "attendance" not in secret_values(compose)
    assert "Xk2v9QpLm4Rt7w" in secret_values({"REDIS_URL": "rediss://:Xk2v9QpLm4Rt7w@cache:6379/0"})


def test_metrics_endpoint(client, teacher):
    teacher.client.get("/")
    body = client.get("/metrics").data.decode()
    for name in (
        "attendance_http_requests_total",
        "attendance_http_request_seconds_bucket",
        "attendance_jobs",
        "attendance_job_duration_seconds_bucket",
        "attendance_faces_per_photo_bucket",
        "attendance_queue_depth",
    ):
        assert name in body, name


@pytest.mark.redis  # production counts attempts in Redis
def test_behind_the_load_balancer_the_client_address_is_used(monkeypatch):
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("S3_BUCKET", "attendance-photos")  # checked at start-up; no photo is stored here
    app = _limited_app(monkeypatch, LOGIN_LIMIT_PER_ADDRESS="2 per minute")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()

    def attempt(ip: str) -> int:
        headers = {"X-Forwarded-For": ip, "X-Forwarded-Proto": "https"}
        return client.post(
            "/login", data={"email": f"{ip}@school.example.org", "password": "x" * 12}, headers=headers
        ).status_code

    # Two schools behind the same balancer do not share one limit.
    assert [attempt("198.51.100.7") for _ in range(3)] == [401, 401, 429]
    assert attempt("203.0.113.9") == 401
    with session_scope(get_settings().sqlalchemy_url) as s:
        ips = set(
            s.scalars(
                select(AuditEvent.ip).where(
                    AuditEvent.action == "login_failed", AuditEvent.detail.like("%198.51.100.7%")
                )
            )
        )
    assert ips == {"198.51.100.7"}


@pytest.mark.redis  # production starts only with REDIS_URL
def test_production_serves_metrics_only_with_its_token(monkeypatch):
    for name, value in (("FLASK_ENV", "production"), ("SECRET_KEY", "k" * 40), ("S3_BUCKET", "attendance-photos")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    assert _limited_app(monkeypatch).test_client().get("/metrics").status_code == 404
    monkeypatch.setenv("METRICS_TOKEN", "scrape-token-for-the-monitoring")
    client = _limited_app(monkeypatch).test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-for-the-monitoring"})
    assert ok.status_code == 200 and b"attendance_http_requests_total" in ok.data


def test_password_changes_are_rate_limited_per_account(monkeypatch, database):
    """A session left open must not be a way to guess the current password."""
    client = _limited_app(monkeypatch, LOGIN_LIMIT_PER_ACCOUNT="2 per minute").test_client()
    email = _signed_up(client)
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    new = "a new long password"
    guess = {"current_password": "guess number one", "new_password": new, "repeat": new}
    codes = [client.post("/settings/password", data=guess).status_code for _ in range(3)]
    assert codes == [400, 400, 429]


def test_successful_sign_ins_are_not_counted(monkeypatch, database):
    """Only failures count: a teacher signing in and out all day is never refused."""
    client = _limited_app(monkeypatch, LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="3 per minute")
    browser = client.test_client()
    email = _signed_up(browser)
    codes = []
    for _ in range(6):
        codes.append(browser.post("/login", data={"email": email, "password": PASSWORD}).status_code)
        browser.post("/logout")
    assert codes == [302] * 6


def test_an_attacker_cannot_lock_a_teacher_out_of_their_own_browser(monkeypatch, database):
    """Someone at the school's own address who knows the teacher's email fails until both the account's and the
    address's counters are full: a new browser must wait, the teacher's own browser (known device) signs in."""
    app = _limited_app(monkeypatch, LOGIN_LIMIT_PER_ACCOUNT="3 per minute", LOGIN_LIMIT_PER_ADDRESS="5 per minute")
    own = app.test_client()
    email = _signed_up(own)
    assert own.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    own.post("/logout")
    attacker = app.test_client()
    codes = [attacker.post("/login", data={"email": email, "password": f"guess {i}"}).status_code for i in range(6)]
    assert codes == [401, 401, 401, 429, 429, 429]
    others = [
        attacker.post("/login", data={"email": f"x{i}@school.example.org", "password": "guess"}) for i in range(3)
    ]
    assert [r.status_code for r in others] == [401, 401, 429]  # the address's counter is full too
    new_browser = app.test_client()
    assert new_browser.post("/login", data={"email": email, "password": PASSWORD}).status_code == 429  # slowed
    assert own.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302  # never refused
    own.post("/logout")
    # The known browser has a counter of its own: it cannot be used to guess without limit either.
    mine = [own.post("/login", data={"email": email, "password": f"typo {i}"}).status_code for i in range(4)]
    assert mine == [401, 401, 401, 429]
    # ... and it is known for this account only: for another one it counts as any browser.
    assert own.post("/login", data={"email": "x9@school.example.org", "password": "guess"}).status_code == 429


def test_a_forged_known_device_cookie_is_ignored(monkeypatch, database):
    app = _limited_app(monkeypatch, LOGIN_LIMIT_PER_ACCOUNT="2 per minute")
    email = _signed_up(app.test_client())
    forger = app.test_client()
    forger.set_cookie("known_device", "eyJkIjoiYWJjIiwiYSI6W119.forged.signature")
    codes = [forger.post("/login", data={"email": email, "password": f"guess {i}"}).status_code for i in range(3)]
    assert codes == [401, 401, 429]
