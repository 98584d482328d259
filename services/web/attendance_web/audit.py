"""The audit log: sign-ins (good and bad), sign-outs and deletions, with who, when and from where."""

from __future__ import annotations

from flask import has_request_context, request

from attendance_shared.models import AuditEvent

from .extensions import db


def audit(action: str, teacher_id: int | None, detail: str | None = None) -> None:
    """Add an audit event to the current unit of work (the caller commits). Never pass secrets. From the command line
    (`flask teachers ...`) there is no request, so no address."""
    ip = (request.remote_addr or "")[:64] if has_request_context() else ""
    db().add(
        AuditEvent(
            teacher_id=teacher_id,
            action=action,
            detail=(detail or "")[:500] or None,
            ip=ip or None,
        )
    )
