"""Roster uploads a teacher neither confirmed nor cancelled: dropped with their temp/ files after a day.
The admins' OneRoster uploads (SisImport) left in preview go the same way in the worker's sweep.

Shared because the web tidies a teacher's own previews when they upload again, and the worker's
periodic task tidies everyone's, so temp/ never grows without bound.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import update
from sqlalchemy.orm import Session

from .models import RosterImport, SisImport, utcnow
from .storage import PhotoStore, StorageError

STALE_AFTER = dt.timedelta(days=1)
log = logging.getLogger(__name__)


def expire_stale_previews(session: Session, store: PhotoStore, teacher_id: int | None = None) -> int:
    """Mark previews older than STALE_AFTER expired (committed), then delete their files. Returns how many."""
    stmt = update(RosterImport).where(RosterImport.state == "preview", RosterImport.created_at < utcnow() - STALE_AFTER)
    if teacher_id is not None:
        stmt = stmt.where(RosterImport.teacher_id == teacher_id)
    stale = session.execute(stmt.values(state="expired").returning(RosterImport.csv_key, RosterImport.zip_key)).all()
    keys = [k for row in stale for k in row if k]
    if teacher_id is None:
        keys += session.scalars(
            update(SisImport)
            .where(SisImport.state == "preview", SisImport.created_at < utcnow() - STALE_AFTER)
            .values(state="expired")
            .returning(SisImport.zip_key)
        ).all()
    session.commit()
    for key in keys:
        try:
            store.delete(key)
        except StorageError:
            log.warning("could not delete %s; it stays under temp/", key, exc_info=True)
    return len(stale)
