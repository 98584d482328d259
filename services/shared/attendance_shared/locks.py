"""Row locks that serialise work on one student, for the web and the worker alike."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Student


def lock_student(session: Session, student_id: int) -> None:
    """Hold the student until this transaction commits, so that one student's portraits are counted (the web's
    upload cap) and judged (the worker's same-person check) one request at a time: ten uploads at once would
    otherwise each count the portraits before any of them is saved, and portraits enrolled together would each
    find no accepted portrait and all be accepted unchecked.

    PostgreSQL: FOR NO KEY UPDATE on the student's row, waited for by the next holder, whose reads then see what
    the first committed (READ COMMITTED); it does not block the key-share locks that inserting a portrait or an
    embedding of the student takes (foreign key). SQLite has no row locks: a write that changes nothing takes the
    database's one write lock now instead of at the transaction's first real write."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(Student)
            .where(Student.id == student_id)
            .values(id=Student.id)
            .execution_options(synchronize_session=False)
        )
        return
    session.execute(select(Student.id).where(Student.id == student_id).with_for_update(key_share=True))
