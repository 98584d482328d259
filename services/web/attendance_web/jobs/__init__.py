"""Background job status, as a page that updates itself and as JSON."""

from flask import Blueprint

bp = Blueprint("jobs", __name__)

from . import views  # noqa: E402,F401
