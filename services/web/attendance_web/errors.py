"""Friendly error pages (HTML) and JSON errors for JSON clients (responses.py: which, and their shape)."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .responses import error_headers, json_error, wants_json

MESSAGES = {
    400: "That request could not be understood.",
    404: "We could not find that page. It may have been deleted, or it belongs to another account.",
    405: "That action is not allowed here.",
    413: "That upload is too large. Please send fewer or smaller photos at once.",
    503: "The service is briefly unavailable. Please try again in a minute; nothing you saved was lost.",
}


def _render(code: int, message: str) -> ResponseReturnValue:
    if wants_json():
        return json_error(code, None, message)
    return render_template("error.html", code=code, message=message), code


SPLIT_ROSTER = (
    "Nothing of it was saved. For a big class, split the portraits over several ZIP files and import the same CSV "
    "with each one: students already imported are kept, and each import adds its photos."
)
# One photo over the limit is not helped by sending "one or two at a time": the advice fits both cases (the server
# cannot count the files of a request it refuses unread).
SPLIT_PORTRAITS = (
    "Nothing of it was saved. A single photo over the limit needs a smaller copy; for several photos, upload the "
    "portraits one or two at a time."
)


def too_large_photo(limit_mb: int) -> str:
    """After a file's name, when one photo alone is over the limit (app.js, session.js, a direct upload)."""
    return f"is too large: the limit is {limit_mb} MB per photo. Please choose a smaller copy of it."


def too_large_message(limit_mb: int) -> str:
    """The sentence nginx also gives (deploy/proxy), then what to do instead for the form that was sent."""
    said = f"That upload is too large (the limit is {limit_mb} MB per upload). Please send fewer or smaller photos."
    advice = {"roster.upload": SPLIT_ROSTER, "students.upload_photos": SPLIT_PORTRAITS}.get(request.endpoint or "")
    return f"{said} {advice}" if advice else said


def register_error_handlers(app: Flask) -> None:
    @app.context_processor
    def _upload_limit() -> dict[str, object]:
        """The limit for the forms' help text, and the sentences static/app.js shows before a too-large upload."""
        limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
        said = f"That upload is too large (the limit is {limit} MB per upload)."
        return {
            "max_upload_mb": limit,
            "split_roster": f"{said} For a big class, split the portraits over several ZIP files and import the "
            "same CSV with each one: students already imported are kept, and each import adds its photos.",
            "split_portraits": f"{said} Upload the portraits one or two at a time.",
            # After the file's name, when one photo alone is over the limit (static/app.js, static/session.js).
            "too_large_photo": too_large_photo(limit),
        }

    @app.errorhandler(CSRFError)
    def _csrf(_exc: CSRFError) -> ResponseReturnValue:
        return _render(
            400, "This form has expired or was not sent from this site. Please reload the page and try again."
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> ResponseReturnValue:
        code = exc.code or 500
        if code == 429:
            message = "Too many attempts. Please wait a few minutes and try again."
        elif code == 413:
            message = too_large_message(app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024))
        else:
            message = MESSAGES.get(code, exc.description or "Something went wrong.")
        response = app.make_response(_render(code, message))
        response.headers.update(error_headers(exc))  # a 405 still says which methods are allowed
        return response

    @app.errorhandler(OperationalError)
    def _db_down(_exc: OperationalError) -> ResponseReturnValue:
        # A standalone page: the normal layout asks the (unreachable) database who is logged in.
        app.logger.warning("database unavailable", exc_info=True)
        # Rendering asks Flask-Login for the user; answer "anonymous" instead of asking the database.
        g._login_user = AnonymousUserMixin()
        if wants_json():
            return json_error(503, None, MESSAGES[503])
        return render_template("unavailable.html", message=MESSAGES[503]), 503, {"Retry-After": "30"}
