"""Two-step sign-in: after the password, a 6-digit code from an authenticator app (TOTP, RFC 6238, via pyotp).

- Turning it on (Settings → Two-step sign-in): a new secret is shown as text and as an otpauth:// link, kept
  meanwhile sealed in the session (attendance_web.sealed: the session cookie is signed, not encrypted); a current
  code confirms the app has it, and only then is it stored, sealed, on the teacher (Teacher.totp_secret).
- Signing in: the right password of an account with two-step sign-in does not sign in. The session then holds only
  PENDING_KEY, {teacher id, session epoch, password fingerprint, when, remember me, next page}, for PENDING_FOR;
  the code page signs in when the code is right and that account has not changed since (log-out everywhere, new
  password, disabled). A wrong code answers 401 and counts on the same sign-in counters as a wrong password
  (auth.throttle).
- A code works once: the time step of the last code accepted is kept (Teacher.totp_last_step), and that step and
  every older one are refused, so a code seen over a shoulder cannot be used again, not even within its 30 s.
- Turning it off needs the password and a current code.
- In production an admin without two-step sign-in is sent to set it up before any other page (`require_for_admins`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
from typing import Any

import pyotp
from flask import current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import or_, update

from attendance_shared.models import Teacher

from ..extensions import db, settings
from ..sealed import seal, unseal
from .user import password_fingerprint

ISSUER = "Student Attendance"
#: how long the code page waits after the right password
PENDING_FOR = 5 * 60
PENDING_KEY = "two_step_pending"
#: the new secret being set up, sealed (see the module's docstring)
SETUP_KEY = "two_step_setup"
#: codes of the step before and after the current one are accepted too: a phone's clock a little off
VALID_WINDOW = 1
CODE_DIGITS = 6
SET_UP_FIRST = "Admins of a school sign in in two steps: set up your authenticator app first."
#: the pages an admin who must set it up can still open
_OPEN_WHILE_SETTING_UP = frozenset({"account.two_step", "account.two_step_confirm", "auth.logout", "static"})
_BLUEPRINTS_WITHOUT_SESSIONS = frozenset({"api", "health"})


def clean_code(code: str | None) -> str:
    """The digits a teacher typed ("123 456" and "123-456" work too)."""
    return "".join(ch for ch in (code or "") if ch not in " -\u00a0")


def new_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def code_step(secret: str, code: str, *, after: int | None = None, now: float | None = None) -> int | None:
    """The time step whose code this is (within VALID_WINDOW of now, later than `after`), or None."""
    code = clean_code(code)
    if len(code) != CODE_DIGITS or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC))
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def is_on(teacher: Teacher) -> bool:
    return teacher.totp_secret is not None


def accept(teacher: Teacher, code: str) -> bool:
    """True, and the code spent, when it is a current code of this teacher's app not used before (caller commits)."""
    secret = unseal(teacher.totp_secret)
    if secret is None:
        return False
    step = code_step(secret, code, after=teacher.totp_last_step)
    if step is None:
        return False
    # Spent in one statement: of two requests racing with the same code, only one moves the step forward.
    spent = db().execute(
        update(Teacher)
        .where(Teacher.id == teacher.id, or_(Teacher.totp_last_step.is_(None), Teacher.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    teacher.totp_last_step = step
    return bool(getattr(spent, "rowcount", 0) == 1)


def turn_on(teacher: Teacher, secret: str, step: int) -> None:
    teacher.totp_secret = seal(secret)
    teacher.totp_last_step = step


def turn_off(teacher: Teacher) -> None:
    teacher.totp_secret = None
    teacher.totp_last_step = None


# --- the half-signed-in state ---------------------------------------------------------------------------------


def start_pending(teacher: Teacher, *, remember: bool, next_url: str) -> None:
    session[PENDING_KEY] = {
        "id": teacher.id,
        "epoch": teacher.session_epoch or 0,
        "fp": password_fingerprint(teacher),
        "at": int(time.time()),
        "remember": remember,
        "next": next_url,
        "email": teacher.email,
    }


def pending() -> dict[str, Any] | None:
    """The session's half-signed-in state while it is fresh; None otherwise (and an old one is removed)."""
    data = session.get(PENDING_KEY)
    if not isinstance(data, dict) or not isinstance(data.get("at"), int) or not isinstance(data.get("id"), int):
        return None
    if not 0 <= time.time() - data["at"] <= PENDING_FOR:
        session.pop(PENDING_KEY, None)
        return None
    return data


def pending_still_valid(data: dict[str, Any], teacher: Teacher | None) -> bool:
    """The account has not changed since its password was checked (epoch, password) and is not disabled."""
    return (
        teacher is not None
        and teacher.disabled_at is None
        and data.get("epoch") == (teacher.session_epoch or 0)
        and hmac.compare_digest(str(data.get("fp")), password_fingerprint(teacher))
    )


def end_pending() -> None:
    session.pop(PENDING_KEY, None)


# --- production admins --------------------------------------------------------------------------------------------


def required_for_admins() -> bool:
    """Whether every admin must use two-step sign-in: in production, or where a test sets REQUIRE_ADMIN_TWO_STEP."""
    flag = current_app.config.get("REQUIRE_ADMIN_TWO_STEP")
    return bool(settings().is_production if flag is None else flag)


def require_for_admins() -> ResponseReturnValue | None:
    """Before each request: a signed-in admin without two-step sign-in goes to its set-up page (where required)."""
    if request.blueprint in _BLUEPRINTS_WITHOUT_SESSIONS or request.endpoint in (None, *_OPEN_WHILE_SETTING_UP):
        return None
    if not current_user.is_authenticated or not current_user.is_admin or current_user.has_two_step:
        return None
    if not required_for_admins():
        return None
    flash(SET_UP_FIRST, "info")
    return redirect(url_for("account.two_step"))
