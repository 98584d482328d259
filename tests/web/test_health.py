"""/healthz: 200 when the database and the broker answer; 503 naming what is down."""

from __future__ import annotations

from attendance_shared.settings import Settings
from attendance_web import create_app


def test_healthz_ok(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.get_json() == {"status": "ok", "problems": []}


def test_healthz_names_redis_when_unreachable(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    app = create_app(Settings(), TESTING=True)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    body = r.get_json()
    assert body["status"] == "unavailable"
    assert any("Redis" in p for p in body["problems"]), body


def test_healthz_names_database_when_unreachable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nothing")
    app = create_app(Settings(), TESTING=True)
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
    assert any("database" in p for p in r.get_json()["problems"])


def test_security_headers(client):
    r = client.get("/login")
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
