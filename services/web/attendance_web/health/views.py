from __future__ import annotations

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from kombu import Connection
from sqlalchemy import text

from ..extensions import db, settings
from . import bp


def _check_database() -> str | None:
    try:
        db().execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "down"; the type tells the operator which
        db().rollback()
        return f"database unreachable ({type(exc).__name__})"
    return None


def _check_broker() -> str | None:
    celery_app = current_app.extensions["attendance.celery"]
    name = "Redis" if settings().redis_url else "broker"
    try:
        with Connection(
            settings().broker_url,
            transport_options=celery_app.conf.broker_transport_options,
            connect_timeout=2,
        ) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        return f"{name} unreachable ({type(exc).__name__})"
    return None


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database and the broker answer; 503 naming what is down."""
    problems = [p for p in (_check_database(), _check_broker()) if p]
    body = {"status": "ok" if not problems else "unavailable", "problems": problems}
    response = jsonify(body)
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response
