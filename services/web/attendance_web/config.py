"""Flask configuration derived from the shared settings (the environment)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from attendance_shared.settings import Settings

#: the longest a sign-in lasts, "Keep me logged in" included: the remember-me cookie's lifetime, and the server's
#: limit on any session (attendance_web.auth.user)
MAX_SIGNED_IN = dt.timedelta(days=30)


def flask_config(settings: Settings) -> dict[str, Any]:
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    return {
        # Development without SECRET_KEY gets a random one per process (sessions end on restart);
        # production refuses to start without one (Settings.require_production_secrets).
        "SECRET_KEY": secret or secrets.token_hex(32),
        "MAX_CONTENT_LENGTH": settings.max_upload_mb * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.is_production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": settings.is_production,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_DURATION": MAX_SIGNED_IN,
        "WTF_CSRF_TIME_LIMIT": None,
        "PREFERRED_URL_SCHEME": "https" if settings.is_production else "http",
        "RATELIMIT_ENABLED": settings.ratelimit_enabled,
        "ATTENDANCE_SETTINGS": settings,
    }
