"""Teacher accounts: sign up, log in, log out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import views  # noqa: E402,F401
from .two_step import require_for_admins  # noqa: E402

bp.before_app_request(require_for_admins)
