"""Students and their portrait photos."""

from flask import Blueprint

bp = Blueprint("students", __name__)

from . import learned, subject_access, views  # noqa: E402,F401
