"""Single-use links: an invitation to join a school (7 days) or a password reset (24 hours).

The token is 32 random bytes in the URL; only its SHA-256 is stored, so a copy of the database opens nothing. A
link works once, until it expires or the admin revokes it; a newer invitation to the same address in the same
school replaces the older one, and a newer reset for an account replaces its older reset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import url_for
from sqlalchemy import ColumnElement, select, update

from attendance_shared.models import AccountLink, AccountLinkKind, Teacher, TeacherRole, utcnow

from ..extensions import db

LIFETIME = {AccountLinkKind.INVITATION: dt.timedelta(days=7), AccountLinkKind.PASSWORD_RESET: dt.timedelta(hours=24)}
ENDPOINT = {AccountLinkKind.INVITATION: "school.join", AccountLinkKind.PASSWORD_RESET: "school.reset_password"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(link: AccountLink, replaces: list[ColumnElement[bool]]) -> str:
    now = utcnow()
    db().execute(
        update(AccountLink)
        .where(
            AccountLink.kind == link.kind, AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None), *replaces
        )
        .values(revoked_at=now)
    )
    token = secrets.token_urlsafe(32)
    link.token_hash = _digest(token)
    link.created_at = now
    link.expires_at = now + LIFETIME[link.kind]
    db().add(link)
    return token


def invite(*, school_id: int, email: str, role: TeacherRole, by: int) -> str:
    """A new invitation's token (added to the session; the caller commits)."""
    link = AccountLink(kind=AccountLinkKind.INVITATION, school_id=school_id, email=email, role=role, created_by_id=by)
    return _issue(link, [AccountLink.school_id == school_id, AccountLink.email == email])


def password_reset(teacher: Teacher, *, by: int) -> str:
    link = AccountLink(
        kind=AccountLinkKind.PASSWORD_RESET,
        school_id=teacher.school_id,
        email=teacher.email,
        role=teacher.role,
        teacher_id=teacher.id,
        created_by_id=by,
    )
    return _issue(link, [AccountLink.teacher_id == teacher.id])


def open_link(token: str, kind: AccountLinkKind) -> AccountLink | None:
    """The link this token opens, while it is unused, not revoked and not expired."""
    if not token or len(token) > 100:
        return None
    link = db().scalar(select(AccountLink).where(AccountLink.token_hash == _digest(token), AccountLink.kind == kind))
    if link is None or link.used_at is not None or link.revoked_at is not None:
        return None
    expires = link.expires_at if link.expires_at.tzinfo else link.expires_at.replace(tzinfo=dt.UTC)
    return link if expires > utcnow() else None


def url(token: str, kind: AccountLinkKind) -> str:
    return url_for(ENDPOINT[kind], token=token, _external=True)


def open_invitations(school_id: int) -> list[AccountLink]:
    stmt = (
        select(AccountLink)
        .where(
            AccountLink.school_id == school_id,
            AccountLink.kind == AccountLinkKind.INVITATION,
            AccountLink.used_at.is_(None),
            AccountLink.revoked_at.is_(None),
            AccountLink.expires_at > utcnow(),
        )
        .order_by(AccountLink.created_at.desc())
    )
    return list(db().scalars(stmt))


def consume(link: AccountLink) -> bool:
    """Spend the link in one statement: of two requests racing with the same link, only one gets True. (An
    invitation is also kept single-use by the unique e-mail of the account it creates.)"""
    spent = db().execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.used_at.is_(None), AccountLink.revoked_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(spent, "rowcount", 0) == 1)
