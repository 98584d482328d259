"""Which school an address signs in through, and whether a school still takes passwords."""

from __future__ import annotations

from sqlalchemy import select

from attendance_shared.models import School, Teacher

from ..extensions import db
from . import provider


def schools_with_sso() -> bool:
    return db().scalar(select(School.id).where(School.sso_issuer.is_not(None)).limit(1)) is not None


def school_for_email(email: str) -> School | None:
    """The school whose allowed domains include this address's domain (set up for sign-in), if any."""
    domain = email.rsplit("@", 1)[-1].strip().lower()
    candidates = db().scalars(select(School).where(School.sso_domains.contains(domain)))
    return next((s for s in candidates if domain in provider.domains(s) and provider.is_set_up(s)), None)


def password_sign_in_refused(teacher: Teacher) -> str | None:
    """The sentence that refuses a password sign-in to this teacher, when their school turned it off."""
    if teacher.school.password_sign_in_off and provider.is_set_up(teacher.school):
        return (
            f"{teacher.school.name} signs in with its school accounts: use “Sign in with your school account” "
            "below with your school email."
        )
    return None
