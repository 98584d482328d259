"""Hash the portraits stored before migration 0005, so the same photo uploaded again is recognised.

Migration 0005 added `student_photos.content_sha256` (unique per student) but left the older portraits NULL:
hashing them means reading every photo from the store, which a migration must not do (S3 credentials, time).
The beat runs backfill_portrait_hashes every minute instead; it reads a batch of portraits, writes their
hashes, and finds nothing to do once every portrait has one.

A portrait the backfill cannot give its hash keeps content_sha256 NULL and gets `unhashed` instead, which says
why, so that it is not picked again every minute and the constraint is never violated (nothing is deleted):

- FILE_MISSING when the store says the bytes are gone (PhotoMissing). Such a portrait cannot be re-embedded
  nor shown either; deleting it on the student's page removes the row.
- COPY when the student already has a portrait with the same bytes (two copies stored before 0005, or a copy
  uploaded again after it). Whichever copy was hashed first keeps the hash, which is enough for the upload form
  to recognise the photo; the other stays one of the student's portraits.

A miss is only believed when the store is shown to be readable in the same run. A worker started without the shared
photo volume sees an empty directory (LocalPhotoStore creates its root), where every read is a miss: that would
otherwise mark every older portrait missing, for good. So misses are held back until the run has read one portrait
successfully, after which they are marked. When the run has read none, at its EMPTY_STORE_MISSES-th miss or at its
last candidate, the store must instead still hold one of a few already-hashed portraits (store.exists); if it does
not, nothing is marked, an error says the store looks empty or unmounted, and the run stops (the next minute's run
tries again). In short: no miss is marked unless the store is seen holding some portrait in that run.

A store that does not answer (any other StorageError) marks nothing: the run stops and the next minute's run
tries again; rows are picked in random order, so a portrait that keeps failing cannot hold up the others. To hash
a marked portrait again, set its `unhashed` back to NULL.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attendance_shared.db import session_scope
from attendance_shared.models import StudentPhoto, Unhashed
from attendance_shared.settings import get_settings
from attendance_shared.storage import PhotoMissing, PhotoStore, StorageError, make_store

log = logging.getLogger(__name__)

#: portraits read per beat run: reading and hashing is a few ms each, so a minute's batch takes seconds
HASH_BATCH = 100
#: misses in a run with no successful read after which the store must prove it holds portraits, or the run stops
EMPTY_STORE_MISSES = 5
#: already-hashed portraits looked for in the store when the run itself read none
STORE_PROBES = 3
#: a portrait still to be read: no hash, and not settled without one
UNSETTLED = (StudentPhoto.content_sha256.is_(None), StudentPhoto.unhashed.is_(None))


def _write(session: Session, photo_id: int, value: str | Unhashed) -> int | None:
    """Set the row's hash (or why it has none) if it is still unsettled, in its own short transaction: 1 when
    written, 0 when the row is gone or already settled (a concurrent run), None when another portrait of the student
    holds this hash (one uploaded or hashed meanwhile): the unique constraint decides, and nothing else is lost."""
    settled = {"unhashed": value} if isinstance(value, Unhashed) else {"content_sha256": value}
    try:
        result = session.execute(update(StudentPhoto).where(StudentPhoto.id == photo_id, *UNSETTLED).values(**settled))
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return int(result.rowcount)  # type: ignore[attr-defined]


def _store_holds_portraits(session: Session, store: PhotoStore) -> bool:
    """True when the store has one of a few portraits read earlier (random ones: hashed, or found to be copies): it
    is mounted, or the bucket is the right one, so a miss is a real one."""
    keys = session.scalars(
        select(StudentPhoto.storage_key)
        .where(or_(StudentPhoto.content_sha256.is_not(None), StudentPhoto.unhashed == Unhashed.COPY))
        .order_by(func.random())
        .limit(STORE_PROBES)
    ).all()
    session.commit()
    try:
        return any(store.exists(key) for key in keys)
    except Exception:  # a store that does not answer proves nothing
        log.warning("the photo store did not answer whether it holds portraits", exc_info=True)
        return False


def _mark_missing(session: Session, photo_ids: list[int]) -> int:
    for photo_id in photo_ids:
        log.warning("portrait %s is missing from storage; marked, not hashed", photo_id)
    return sum(_write(session, photo_id, Unhashed.FILE_MISSING) or 0 for photo_id in photo_ids)


def backfill_portrait_hashes(limit: int = HASH_BATCH) -> int:
    """Give up to `limit` unsettled portraits their hash (or say why they have none, see the module's
    docstring); returns how many rows were settled, 0 once none are left."""
    settings = get_settings()
    store = make_store(settings)
    settled = 0
    with session_scope(settings.sqlalchemy_url) as s:
        todo = s.execute(
            select(StudentPhoto.id, StudentPhoto.student_id, StudentPhoto.storage_key)
            .where(*UNSETTLED)
            .order_by(func.random())
            .limit(limit)
        ).all()
        s.commit()  # no transaction is held open while the store is read
        readable = False  # the store is seen holding portraits in this run (see the module's docstring)
        probed = False  # _store_holds_portraits asked once at most
        held: list[int] = []  # misses not marked until then
        for photo_id, student_id, key in todo:
            try:
                sha = hashlib.sha256(store.get(key)).hexdigest()
            except PhotoMissing:
                held.append(photo_id)
                if not readable and len(held) >= EMPTY_STORE_MISSES:
                    probed, readable = True, _store_holds_portraits(s, store)
                    if not readable:
                        break
                if readable:
                    settled += _mark_missing(s, held)
                    held = []
                continue
            except StorageError:
                log.warning("the photo store did not answer; portrait hashes are left for the next run", exc_info=True)
                held = []  # not proven either way: the next run reads them again
                break
            if not readable:
                readable = True
                settled += _mark_missing(s, held)
                held = []
            taken = s.scalar(
                select(StudentPhoto.id).where(StudentPhoto.student_id == student_id, StudentPhoto.content_sha256 == sha)
            )
            written = _write(s, photo_id, sha) if taken is None else None
            if written is not None:
                settled += written
                continue
            log.info("portrait %s is a copy of another of student %s's portraits; kept, marked", photo_id, student_id)
            settled += _write(s, photo_id, Unhashed.COPY) or 0
        if held and not probed:  # fewer candidates than EMPTY_STORE_MISSES, all missing
            readable = _store_holds_portraits(s, store)
        if held and readable:
            settled += _mark_missing(s, held)
        elif held:
            log.error(
                "the %d portrait(s) read in this run are all missing and the photo store holds none of the portraits "
                "hashed before: it looks empty or unmounted (PHOTO_DIR and its shared volume, or S3_BUCKET); "
                "nothing was marked missing, the next run tries again",
                len(held),
            )
    if todo:
        log.info("%d of %d older portrait(s) hashed or marked", settled, len(todo))
    return settled
