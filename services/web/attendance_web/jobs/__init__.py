"""Background job status, as a page that updates itself and as JSON."""

from flask import Blueprint

from .status import state_words

bp = Blueprint("jobs", __name__)
bp.add_app_template_global(state_words)  # the dashboard's job list says the same words as the job page

from . import views  # noqa: E402,F401
