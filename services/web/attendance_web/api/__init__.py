"""The JSON API under /api/v1, for scripts and LMS integration: bearer tokens only, never the cookie."""

from flask import Blueprint

from ..extensions import csrf
from .auth import authenticate
from .errors import register_api_errors

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Exempt from CSRF because the API ignores the session cookie: a forged cross-site request carries no token.
csrf.exempt(bp)
bp.before_request(authenticate)
register_api_errors(bp)

from . import views  # noqa: E402,F401
