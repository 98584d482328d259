"""API errors: always JSON {"error": {"code", "message"}} with a stable snake_case code."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

CODES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("unauthorized", "Send a valid API token as 'Authorization: Bearer <token>'."),
    404: ("not_found", "Not found. It may have been deleted, or it belongs to another account."),
    405: ("method_not_allowed", "This method is not allowed on this URL."),
    413: ("payload_too_large", "The upload is too large. Send fewer or smaller photos per request."),
    500: ("internal_error", "Something went wrong on our side. Please try again."),
    503: ("service_unavailable", "The service is briefly unavailable. Please try again in a minute."),
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
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.headers["Cache-Control"] = "no-store"
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
        code, message = CODES.get(status, ("http_error", exc.description or "The request failed."))
        return error_response(status, code, message)

    @bp.errorhandler(OperationalError)
    def _db_down(_exc: OperationalError) -> tuple[Response, int]:
        log.warning("database unavailable during an API request", exc_info=True)
        return error_response(503, *CODES[503])
