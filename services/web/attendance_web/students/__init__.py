"""Students and their portrait photos."""

from flask import Blueprint

bp = Blueprint("students", __name__)

from . import learned, views  # noqa: E402,F401
