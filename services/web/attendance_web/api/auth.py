"""Bearer-token authentication for the API. The session cookie is never consulted here, so a
browser visiting a malicious page cannot make API calls on a teacher's behalf (no CSRF risk)."""

from __future__ import annotations

from flask import g, request
from flask_login import AnonymousUserMixin

from attendance_shared.models import Teacher

from ..auth.user import TeacherUser
from ..extensions import db
from .errors import ApiError
from .tokens import find_token, touch

PUBLIC_ENDPOINTS = {"api.openapi"}


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise ApiError(401, "token_missing", "Send your API token as 'Authorization: Bearer <token>'.")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "token_malformed", "The Authorization header must be 'Bearer <token>'.")
    return value.strip()


def authenticate() -> None:
    """Before every API request: the token decides who the teacher is; Flask-Login sees that teacher."""
    # Set first, so nothing later in this request can fall back to the session cookie.
    g._login_user = AnonymousUserMixin()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    token = find_token(_bearer_token())
    if token is None:
        raise ApiError(401, "token_invalid", "This API token is not valid. Create one on the Settings page.")
    if token.revoked_at is not None:
        raise ApiError(401, "token_revoked", "This API token was revoked. Create a new one on the Settings page.")
    teacher = db().get(Teacher, token.teacher_id)
    if teacher is None:
        raise ApiError(401, "token_invalid", "This API token is not valid. Create one on the Settings page.")
    if teacher.disabled_at is not None:
        raise ApiError(401, "token_revoked", "This account is disabled, so its API tokens no longer work.")
    touch(token)
    g._login_user = TeacherUser(teacher)
