"""Roster uploads a teacher neither confirmed nor cancelled: dropped with their temp/ files after a day.

Shared because the web tidies a teacher's own previews when they upload again, and the worker's
periodic task tidies everyone's, so temp/ never grows without bound.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import update
from sqlalchemy.orm import Session

from .models import RosterImport, utcnow
from .storage import PhotoStore, StorageError

STALE_AFTER = dt.timedelta(days=1)
log = logging.getLogger(__name__)


def expire_stale_previews(session: Session, store: PhotoStore, teacher_id: int | None = None) -> int:
    """Mark previews older than STALE_AFTER expired (committed), then delete their files. Returns how many."""
    stmt = update(RosterImport).where(RosterImport.state == "preview", RosterImport.created_at < utcnow() - STALE_AFTER)
    if teacher_id is not None:
        stmt = stmt.where(RosterImport.teacher_id == teacher_id)
    stale = session.execute(stmt.values(state="expired").returning(RosterImport.csv_key, RosterImport.zip_key)).all()
    session.commit()
    for key in (k for row in stale for k in row if k):
        try:
            store.delete(key)
        except StorageError:
            log.warning("could not delete %s; it stays under temp/", key, exc_info=True)
    return len(stale)
