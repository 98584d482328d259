"""One recognition job at a time per attendance session.

A double-clicked re-run, an upload while a job runs, a redelivered message or a second worker would otherwise
replace the same photo's faces at once (and fail on their unique index). On PostgreSQL a session-level advisory
lock, held on its own connection for the whole job, serialises them: the second job waits, then finds the first
one's work done. The connection dies with a crashed worker, and the lock with it. SQLite (`make run`, one worker
process) serialises writers by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

#: the advisory lock's first key: "ATTD", so the session id (the second key) cannot collide with other locks
LOCK_CLASS = 0x41545444


@contextmanager
def session_job_lock(db: Session, session_id: int) -> Iterator[None]:
    bind = db.get_bind()
    if bind.dialect.name != "postgresql":
        yield
        return
    with bind.engine.connect() as conn:
        conn.execute(select(func.pg_advisory_lock(LOCK_CLASS, session_id)))
        conn.commit()  # nothing else runs on this connection; the lock outlives the transaction
        try:
            yield
        finally:
            try:
                conn.execute(select(func.pg_advisory_unlock(LOCK_CLASS, session_id)))
                conn.commit()
            except Exception:  # never hand a connection that may still hold the lock back to the pool
                conn.invalidate()
                raise
