"""Extensions, initialised in one place: login, CSRF, the DB session per request, storage, the queue."""

from __future__ import annotations

from typing import cast

from celery import Celery
from flask import Flask, current_app, g, has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from sqlalchemy.orm import Session

from attendance_shared.db import read_outside_transactions, session_factory
from attendance_shared.queue import make_celery
from attendance_shared.settings import Settings
from attendance_shared.storage import PhotoStore, make_store

login_manager = LoginManager()
csrf = CSRFProtect()
# No default limits: only the routes that guard credentials are limited (see auth.views).
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def register_extensions(app: Flask, settings: Settings) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.session_protection = "strong"
    # Its user loader is auth.user.load_teacher, registered beside the user it loads.
    csrf.init_app(app)
    # Counters shared by every gunicorn worker (Redis) in production; per process in development.
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{settings.queue_prefix}ratelimit")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis down must not lock teachers out
    limiter.init_app(app)
    app.extensions["attendance.sessionmaker"] = session_factory(settings.sqlalchemy_url)
    app.extensions["attendance.store"] = make_store(settings)
    app.extensions["attendance.celery"] = make_celery(settings)
    app.teardown_appcontext(_close_db)


def settings() -> Settings:
    return cast(Settings, current_app.config["ATTENDANCE_SETTINGS"])


#: Views that only read, asked for most often: a job's progress (polled every second while it runs) and the
#: signatures of direct uploads. Their statements run without BEGIN and ROLLBACK around them (attendance_shared.db.
#: read_outside_transactions): a poll makes 2 round trips to the database instead of 4. Nothing they call may write.
READ_ONLY_ENDPOINTS = frozenset({"jobs.status", "sessions.sign_uploads", "students.sign_photos"})


def db() -> Session:
    """The request's database session (opened on first use, closed at teardown)."""
    if "db" not in g:
        session = current_app.extensions["attendance.sessionmaker"]()
        if has_request_context() and request.endpoint in READ_ONLY_ENDPOINTS:
            read_outside_transactions(session)
        g.db = session
    return cast(Session, g.db)


def store() -> PhotoStore:
    return cast(PhotoStore, current_app.extensions["attendance.store"])


def celery() -> Celery:
    return cast(Celery, current_app.extensions["attendance.celery"])


def _close_db(_exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()
