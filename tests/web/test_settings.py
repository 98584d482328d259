"""Production refuses to start on development defaults, with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from attendance_shared.settings import ConfigurationError, Settings


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_BUCKET")}
    env.update(overrides)
    return env


PRODUCTION = {
    "FLASK_ENV": "production",
    "SECRET_KEY": "k" * 40,
    "DATABASE_URL": "postgresql://x@127.0.0.1/y",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "S3_BUCKET": "attendance-photos",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_BUCKET"])
def test_production_refuses_missing_secret(missing, monkeypatch):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigurationError, match=missing):
        Settings().require_production_secrets()


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("SECRET_KEY", "changeme", "at least 32 characters"),
        ("SECRET_KEY", "change-me-to-a-long-random-string", "at least 32 characters"),
        ("DATABASE_URL", "sqlite:///attendance.sqlite", "PostgreSQL"),
        ("REDIS_URL", "filesystem://", "redis://"),
    ],
)
def test_production_refuses_development_stand_ins(name, value, said, monkeypatch):
    for key, setting in PRODUCTION.items():
        monkeypatch.setenv(key, setting)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=said):
        Settings().require_production_secrets()
    monkeypatch.setenv(name, PRODUCTION[name])
    Settings().require_production_secrets()  # the full production set starts


def test_wsgi_entry_refuses_to_start_in_production_without_secrets():
    proc = subprocess.run(
        [sys.executable, "-c", "import main"],
        env=_env(FLASK_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "SECRET_KEY and DATABASE_URL and REDIS_URL and S3_BUCKET" in proc.stderr.strip().splitlines()[-1]


def test_production_cookies_are_secure(monkeypatch):
    from attendance_web import create_app

    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    app = create_app(Settings())
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_defaults_need_no_server(monkeypatch, tmp_path):
    for name in ("DATABASE_URL", "REDIS_URL", "S3_BUCKET", "STORAGE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLASK_ENV", "development")
    monkeypatch.setenv("INSTANCE_DIR", str(tmp_path))
    s = Settings()
    assert s.sqlalchemy_url.startswith("sqlite:///") and s.sqlalchemy_url.endswith("attendance.sqlite")
    assert s.broker_url == "filesystem://"
    assert s.photo_dir == (tmp_path / "photos").resolve()
