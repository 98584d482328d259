"""Attendance sessions: upload classroom photos, follow their progress, review and correct the result."""

from flask import Blueprint

bp = Blueprint("sessions", __name__)

from . import editing, review_views, status, views  # noqa: E402,F401
