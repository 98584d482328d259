"""Settings and privacy: API tokens, how long classroom photos are kept, what is stored and where."""

from flask import Blueprint

bp = Blueprint("account", __name__)

from . import two_step_views, views  # noqa: E402,F401
