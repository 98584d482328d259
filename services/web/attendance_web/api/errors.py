"""API errors: always the web's JSON error shape (responses.json_error), {"error": {"code", "message"}} with a
stable snake_case code, as openapi.py documents."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..responses import error_headers, json_error, status_word

log = logging.getLogger(__name__)

# The API's sentence for an HTTP status; its code is the status's word (responses.STATUS_WORDS).
MESSAGES = {
    400: "The request could not be understood.",
    401: "Send a valid API token as 'Authorization: Bearer <token>'.",
    404: "Not found. It may have been deleted, or it belongs to another account.",
    405: "This method is not allowed on this URL.",
    413: "The upload is too large. Send fewer or smaller photos per request.",
    500: "Something went wrong on our side. Please try again.",
    503: "The service is briefly unavailable. Please try again in a minute.",
}


class ApiError(Exception):
    """Raised by API views for a refusal the client can act on."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> tuple[Response, int]:
    response, status = json_error(status, code, message, details=details)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, status


def register_api_errors(bp: Blueprint) -> None:
    @bp.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @bp.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        message = MESSAGES.get(status, exc.description or "The request failed.")
        response, status = error_response(status, status_word(status), message)
        response.headers.update(error_headers(exc))
        return response, status

    @bp.errorhandler(OperationalError)
    def _db_down(_exc: OperationalError) -> tuple[Response, int]:
        log.warning("database unavailable during an API request", exc_info=True)
        return error_response(503, status_word(503), MESSAGES[503])
