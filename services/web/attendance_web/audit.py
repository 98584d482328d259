"""The audit log: sign-ins (good and bad), sign-outs and deletions, with who, when and from where."""

from __future__ import annotations

from flask import request

from attendance_shared.models import AuditEvent

from .extensions import db


def audit(action: str, teacher_id: int | None, detail: str | None = None) -> None:
    """Add an audit event to the current unit of work (the caller commits). Never pass secrets."""
    db().add(
        AuditEvent(
            teacher_id=teacher_id,
            action=action,
            detail=(detail or "")[:500] or None,
            ip=(request.remote_addr or "")[:64] or None,
        )
    )
