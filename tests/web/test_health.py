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


def test_load_balancer_check_keeps_the_instance_in_when_only_redis_is_down(monkeypatch):
    """Uploads still land with Redis down (their jobs wait in the database for the sweeper): one Redis node's
    maintenance must not take every instance out of the load balancer. The container's own check asks nothing
    of the dependencies."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    client = create_app(Settings(), TESTING=True).test_client()
    r = client.get("/healthz/ready")
    assert r.status_code == 200
    assert r.get_json()["status"] == "degraded" and any("Redis" in p for p in r.get_json()["problems"])
    assert client.get("/healthz/live").get_json() == {"status": "ok", "problems": []}


def test_load_balancer_check_fails_when_the_database_is_down(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nothing")
    client = create_app(Settings(), TESTING=True).test_client()
    assert client.get("/healthz/ready").status_code == 503
    assert client.get("/healthz/live").status_code == 200


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
