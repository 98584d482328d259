"""Roster: a course's student list and the bulk import (CSV of students + ZIP of portraits).

The import is two steps on purpose: upload gives a preview (nothing written), confirm writes.
"""

from flask import Blueprint

bp = Blueprint("roster", __name__)

from . import views  # noqa: E402,F401
