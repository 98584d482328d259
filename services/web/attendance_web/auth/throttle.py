"""How sign-in attempts are limited: failures are counted, successes never are.

Anyone who knows a teacher's email could otherwise keep them out: when every attempt counts, ten wrong passwords
a minute make the right one answer 429 too. So each counter below is tested before the password is checked, and
only a failed attempt (401) adds to it (Flask-Limiter's deduct_when):

- per address, on every account: LOGIN_LIMIT_PER_ADDRESS (60 a minute, 600 an hour), slowing one place that
  tries many teachers; high enough for a school's staff behind one address;
- per account, from every address: LOGIN_LIMIT_PER_ACCOUNT (10 a minute, 30 an hour), slowing a guesser of one
  teacher's password however many addresses they use.

A browser that signed in to an account before carries a signed "known device" cookie naming that account (for a
year, up to MAX_KNOWN_ACCOUNTS accounts: a shared classroom computer). Its attempts on that account skip both
counters above and have their own, per device and account (LOGIN_LIMIT_PER_ACCOUNT): an attacker's failures
never refuse the right password from the teacher's own browser, and the cookie cannot be made for an account
without having signed in to it. A new browser under attack waits, as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request, session
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import limiter, settings
from .two_step import PENDING_KEY

KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_FOR = dt.timedelta(days=365)
MAX_KNOWN_ACCOUNTS = 5
_SALT = "attendance.known-device"


def attempted_email() -> str:
    """The account an attempt is on: the form's email, or on the two-step code page (auth.two_step) the account
    whose password was right."""
    pending = session.get(PENDING_KEY)
    if request.endpoint == "auth.login_code":
        # Only the account whose password was right: an `email` field added to the code form must not move the
        # guesses onto other accounts' counters (or onto one this browser's known-device cookie exempts).
        email = pending.get("email") if isinstance(pending, dict) else None
    else:
        email = request.form.get("email")
    return (email if isinstance(email, str) else "").strip().lower()[:254]


def guarded(view: Callable[..., Any]) -> Callable[..., Any]:
    """The three counters above on a sign-in view. They are shared by every view guarded (scopes, not routes): a
    wrong two-step code counts where a wrong password does."""
    limits = (
        limiter.shared_limit(
            lambda: settings().login_limit_per_address,
            "login-address",
            methods=["POST"],
            deduct_when=failed,
            exempt_when=from_known_device,
        ),
        limiter.shared_limit(
            lambda: settings().login_limit_per_account,
            "login-account",
            methods=["POST"],
            key_func=account_key,
            deduct_when=failed,
            exempt_when=from_known_device,
        ),
        limiter.shared_limit(
            lambda: settings().login_limit_per_account,
            "login-device",
            methods=["POST"],
            key_func=device_key,
            deduct_when=failed,
            exempt_when=not_from_known_device,
        ),
    )
    for limit in limits:
        view = limit(view)
    return view


def failed(response: Response) -> bool:
    """Only a refused password counts (a form with errors, a success or a 429 does not)."""
    return response.status_code == 401


def account_key() -> str:
    return f"account:{attempted_email() or get_remote_address()}"


def device_key() -> str:
    device = _known_device()
    return f"device:{device['d'] if device else ''}:{_digest(attempted_email())}"


def from_known_device() -> bool:
    """True when this browser signed in to the attempted account before (its counters are its own)."""
    device = _known_device()
    return device is not None and _digest(attempted_email()) in device["a"]


def not_from_known_device() -> bool:
    return not from_known_device()


def remember_device(response: Response, email: str) -> None:
    """After a successful sign-in: this browser is known for this account (kept first, the oldest dropped)."""
    device = _known_device() or {"d": secrets.token_urlsafe(16), "a": []}
    digest = _digest(email)
    accounts = [digest, *(a for a in device["a"] if a != digest)][:MAX_KNOWN_ACCOUNTS]
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        _serializer().dumps({"d": device["d"], "a": accounts}),
        max_age=int(KNOWN_DEVICE_FOR.total_seconds()),
        httponly=True,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        samesite="Lax",
    )


def _digest(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _known_device() -> dict[str, Any] | None:
    """The request's valid known-device cookie ({"d": device id, "a": [account digests]}), read once."""
    if "known_device" not in g:
        g.known_device = _read_cookie(request.cookies.get(KNOWN_DEVICE_COOKIE))
    return g.known_device  # type: ignore[no-any-return]


def _read_cookie(value: str | None) -> dict[str, Any] | None:
    if not value or len(value) > 2000:
        return None
    try:
        data = _serializer().loads(value, max_age=int(KNOWN_DEVICE_FOR.total_seconds()))
    except BadSignature:
        return None
    valid = isinstance(data, dict) and isinstance(data.get("d"), str) and isinstance(data.get("a"), list)
    return {"d": data["d"], "a": [a for a in data["a"] if isinstance(a, str)]} if valid else None
