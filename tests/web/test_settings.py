"""Production refuses to start on development defaults, with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from attendance_shared.settings import ConfigurationError, Settings


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update(overrides)
    return env


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL"])
def test_production_refuses_missing_secret(missing, monkeypatch):
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/y")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigurationError, match=missing):
        Settings().require_production_secrets()


def test_wsgi_entry_refuses_to_start_in_production_without_secrets():
    proc = subprocess.run(
        [sys.executable, "-c", "import main"],
        env=_env(FLASK_ENV="production"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "SECRET_KEY and DATABASE_URL" in proc.stderr.strip().splitlines()[-1]


def test_production_cookies_are_secure(monkeypatch):
    from attendance_web import create_app

    monkeypatch.setenv("FLASK_ENV", "production")
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
