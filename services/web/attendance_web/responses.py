"""How the web answers a script: when a request gets JSON, and the one shape of every JSON error.

Every JSON error the web sends (the API's, the error handlers', the review actions', a refused upload's) is
``{"error": {"code": "<snake_case word>", "message": "<a sentence>", "details": [...]}}``, the API's documented
``Error`` schema (api/openapi.py): a script branches on the word, never on the sentence. A caller may put keys its
page script reads beside ``error`` (``ok``, ``errors``), never inside it.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, jsonify, redirect, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

JSON = "application/json"
HTML = "text/html"

# The word for an HTTP status, where no more precise one is given.
STATUS_WORDS = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}
OTHER_STATUS_WORD = "http_error"


#: what an HTTP error says beside its body (405's Allow, 429's and 503's Retry-After, 401's WWW-Authenticate):
#: kept when an error handler builds its own response
PASSED_ON_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def error_headers(exc: HTTPException) -> dict[str, str]:
    """The headers of `exc` a client relies on, for the handler's own response."""
    return {name: value for name, value in exc.get_headers() if name in PASSED_ON_HEADERS}


def status_word(status: int) -> str:
    return STATUS_WORDS.get(status, OTHER_STATUS_WORD)


def wants_json() -> bool:
    """JSON for the API, the ``.json`` URLs, and a script that ranks JSON above HTML in its Accept header (the
    pages' scripts send ``Accept: application/json``). A browser, and a client sending no Accept or ``*/*``, gets
    HTML: on a tie HTML wins."""
    path = request.path
    if path.endswith(".json") or path.startswith("/api/"):
        return True
    return request.accept_mimetypes.best_match([HTML, JSON]) == JSON


def no_store_json(body: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    """A JSON answer no cache keeps: it is about one teacher's data, now."""
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status


def json_error(
    status: int,
    code: str | None,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    beside: dict[str, Any] | None = None,
) -> tuple[Response, int]:
    """The error answer: ``code`` is a snake_case word (None: the status's word, ``status_word``); ``beside``
    holds the keys a page script reads next to ``error``."""
    error: dict[str, Any] = {"code": code or status_word(status), "message": message}
    if details:
        error["details"] = details
    return no_store_json({**(beside or {}), "error": error}, status)


def answer(
    message: str,
    back_to: str,
    *,
    ok: bool = True,
    http_status: int = 200,
    code: str | None = None,
    **extra: Any,
) -> ResponseReturnValue:
    """One action, two kinds of answer: a redirect with a flash for forms, JSON for scripts (XHR/fetch).
    The JSON always has ``ok`` and ``message`` (review.js shows it); a refusal adds the ``error``."""
    if wants_json():
        body: dict[str, Any] = {"ok": ok, "message": message, **extra}
        if not ok:
            return json_error(http_status, code, message, beside=body)
        return no_store_json(body, http_status)
    flash(message, "success" if ok else "error")
    return redirect(back_to), 303
