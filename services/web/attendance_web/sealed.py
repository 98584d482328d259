"""Secrets the database must keep but never hold readable: a teacher's TOTP secret, a school's OpenID client secret.

Sealed with Fernet (AES-128-CBC and HMAC-SHA256, from `cryptography`) under a key derived from SECRET_KEY with
HKDF, so a copy of the database alone opens none of them. A new SECRET_KEY makes every sealed value unreadable:
`unseal` then answers None, and the caller says what to do (set the school's client secret again; IT turns
two-step sign-in off with `flask teachers two-step-off`). Development without SECRET_KEY draws a new key at each
start, so set one before turning these on.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

_INFO = b"attendance_web.sealed v1"


def _fernet() -> Fernet:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def seal(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode("ascii")


def unseal(sealed: str | None) -> str | None:
    """The value, or None when there is none or it was sealed under another SECRET_KEY."""
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None
