"""Attendance sessions: upload classroom photos, run recognition, see the result."""

from flask import Blueprint

bp = Blueprint("sessions", __name__)

from . import views  # noqa: E402,F401
