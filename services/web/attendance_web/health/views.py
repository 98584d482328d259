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


def _answer(problems: list[str], *, failing: list[str]) -> ResponseReturnValue:
    status = "unavailable" if failing else ("degraded" if problems else "ok")
    response = jsonify({"status": status, "problems": problems})
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database and the broker answer; 503 naming what is down (for people and alarms)."""
    problems = [p for p in (_check_database(), _check_broker()) if p]
    return _answer(problems, failing=problems)


@bp.route("/healthz/ready")
def ready() -> ResponseReturnValue:
    """The load balancer's check: 503 only when this instance cannot serve teachers, i.e. the database is down.
    Redis down is named ("degraded") but not failed: uploads still land, their jobs wait in the database and the
    sweeper sends them when Redis is back, and one Redis node's maintenance must not take every instance out."""
    database = _check_database()
    broker = _check_broker()
    return _answer([p for p in (database, broker) if p], failing=[database] if database else [])


@bp.route("/healthz/live")
def live() -> ResponseReturnValue:
    """The container's own check: the process answers. Restarting it cures nothing a dependency's outage causes."""
    return _answer([], failing=[])
