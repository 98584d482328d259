"""One action, two kinds of answer: a redirect with a flash for forms, JSON for scripts (XHR/fetch)."""

from __future__ import annotations

from typing import Any

from flask import flash, jsonify, redirect, request
from flask.typing import ResponseReturnValue


def wants_json() -> bool:
    """True for a script that asked for JSON (Accept: application/json); browsers ask for HTML."""
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def answer(message: str, back_to: str, *, ok: bool = True, http_status: int = 200, **extra: Any) -> ResponseReturnValue:
    if wants_json():
        body: dict[str, Any] = {"ok": ok, "message": message, **extra}
        if not ok:
            body["error"] = {"code": http_status, "message": message}
        response = jsonify(body)
        response.headers["Cache-Control"] = "no-store"
        return response, http_status
    flash(message, "success" if ok else "error")
    return redirect(back_to), 303
