"""API tokens: made once, shown once, stored only as a SHA-256 digest (a leaked table reveals no token)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select

from attendance_shared.models import ApiToken, utcnow

from ..extensions import db

TOKEN_PREFIX = "att_"  # noqa: S105 (a public marker, not a secret)
DISPLAY_CHARS = 8  # "att_" and 4 random characters: enough to recognise a token in the list, useless to guess it
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(teacher_id: int, name: str) -> tuple[ApiToken, str]:
    """A new token row (added, not committed) and the plain token, which is never stored."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(teacher_id=teacher_id, name=name, token_hash=hash_token(plain), prefix=plain[:DISPLAY_CHARS])
    db().add(row)
    return row, plain


def find_token(plain: str) -> ApiToken | None:
    """The token row for a presented token (revoked ones included, so the caller can say so)."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    return db().scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def touch(token: ApiToken) -> None:
    """Record use at most once a minute, so a busy script does not write on every request."""
    now = utcnow()
    if token.last_used_at is None or now - _aware(token.last_used_at) >= LAST_USED_RESOLUTION:
        token.last_used_at = now
        db().commit()
