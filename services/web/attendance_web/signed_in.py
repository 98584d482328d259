"""Who is signed in, as an id: a module of its own so that ownership.py (imported by nearly every feature) does
not pull in the auth package, whose views import features that import ownership back."""

from __future__ import annotations

from flask_login import current_user


def current_teacher_id() -> int:
    """The logged-in teacher's id; every query for owned data filters on it."""
    return int(current_user.id)
