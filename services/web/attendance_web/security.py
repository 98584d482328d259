"""Security headers on every response: no inline script, no framing, no sniffing; and no copy kept of a page.

Pages and downloads show pupils' names, marks and photos, often on a school's shared computer: a response that
does not choose its own caching (photos and thumbnails do: private, short) is sent with `Cache-Control: no-store`,
so neither the browser's cache nor a proxy keeps a copy after the teacher signs out. Static files keep theirs.
"""

from __future__ import annotations

from flask import Flask, Response, request

CSP = (
    "default-src 'self'; img-src 'self' data: blob: https:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def content_security_policy(upload_origin: str | None) -> str:
    """CSP; with direct uploads on, the bucket's origin is where the pages' scripts send photos (and forms post)."""
    if not upload_origin:
        return CSP
    return CSP.replace("form-action 'self'", f"form-action 'self' {upload_origin}").replace(
        "default-src 'self';", f"default-src 'self'; connect-src 'self' {upload_origin};"
    )


def register_security_headers(app: Flask) -> None:
    from .direct_uploads import upload_origin

    settings = app.config["ATTENDANCE_SETTINGS"]
    origin = upload_origin(app.extensions["attendance.store"]) if settings.direct_uploads else None
    policy = content_security_policy(origin)

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if "Cache-Control" not in response.headers and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
