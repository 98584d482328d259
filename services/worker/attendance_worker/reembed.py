"""Re-embed every enrolled portrait with the current model pack, after a model change.

    python -m attendance_worker.reembed [--prune]       (console script: attendance-reembed)

Galleries are never compared across models (every embedding records its model id), so after
MODEL_PACK or RECOGNIZER_PRECISION changes, students are only recognised again once their portraits are
embedded by the new model. Idempotent and resumable: portraits that already have an embedding of this
model are skipped; accepted portraits go first, and portraits refused as not the same person as the student's
others are left as they are. --prune then deletes embeddings made by other models. Without the command, an attendance
job embeds its own course first (reembed_course), and the beat embeds the rest a few at a time
(reembed_stale).
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Exists, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from attendance_shared.db import session_scope
from attendance_shared.logs import configure_logging
from attendance_shared.models import Enrollment, FaceEmbedding, PhotoStatus, StudentPhoto
from attendance_shared.refusals import PortraitRefusal
from attendance_shared.settings import get_settings
from attendance_shared.storage import PhotoStore, StorageError, make_store

from .engine import Engine, get_engine
from .enrollment import enroll_photo

log = logging.getLogger(__name__)
STALE_BATCH = 40  # portraits per beat run: ~3 s of a worker's time, so an attendance job waits little


@dataclass
class ReembedOutcome:
    model_id: str
    embedded: int = 0
    refused: int = 0
    missing: int = 0
    pruned: int = 0


def _has_embedding_of(model_id: str) -> Exists:
    """`StudentPhoto has an embedding made by model_id`, for a WHERE clause (negated: still to embed)."""
    return exists().where(FaceEmbedding.student_photo_id == StudentPhoto.id, FaceEmbedding.model_id == model_id)


def reembed_all(engine: Engine, *, prune: bool = False, batch: int = 50) -> ReembedOutcome:
    """Embed, in batches of short transactions, every portrait that lacks an embedding of engine.model_id: first
    every accepted one, then the others (pending, or refused for a reason the new model may see otherwise: no face,
    too blurry...). Accepted first, because a portrait judged against the student's other portraits finds none of
    the new model until they are embedded, and would be accepted as "the first portrait". Portraits refused as not
    the same person as the student's others are left as they are: they were judged, and the teacher decides (deleting
    the wrong portrait has them judged again)."""
    settings = get_settings()
    store = make_store(settings)
    outcome = ReembedOutcome(model_id=engine.model_id)
    done: set[int] = set()
    accepted = StudentPhoto.status == PhotoStatus.ACCEPTED
    judged = StudentPhoto.refusal == PortraitRefusal.NOT_SAME_PERSON
    for which in (accepted, and_(~accepted, or_(StudentPhoto.refusal.is_(None), ~judged))):
        _reembed_pass(engine, store, outcome, which, done, batch)
    if prune:
        with session_scope(settings.sqlalchemy_url) as s:
            stale = s.scalar(
                select(func.count()).select_from(FaceEmbedding).where(FaceEmbedding.model_id != engine.model_id)
            )
            s.execute(delete(FaceEmbedding).where(FaceEmbedding.model_id != engine.model_id))
            outcome.pruned = int(stale or 0)
    return outcome


def _reembed_pass(
    engine: Engine,
    store: PhotoStore,
    outcome: ReembedOutcome,
    which: ColumnElement[bool],
    done: set[int],
    batch: int,
) -> None:
    """Run enrollment, in id order and batches, on the portraits `which` selects that lack an embedding of this
    model and were not run in an earlier pass (one the new model refused would otherwise be run twice)."""
    url = get_settings().sqlalchemy_url
    has_current = _has_embedding_of(engine.model_id)
    last_id = 0
    while True:
        with session_scope(url) as s:
            ids = list(
                s.scalars(
                    select(StudentPhoto.id)
                    .where(StudentPhoto.id > last_id, ~has_current, which)
                    .order_by(StudentPhoto.id)
                    .limit(batch)
                )
            )
            if not ids:
                return
            for photo_id in ids:
                last_id = photo_id
                if photo_id in done:
                    continue
                done.add(photo_id)
                try:
                    photo = enroll_photo(s, store, engine, photo_id)
                except StorageError:
                    outcome.missing += 1
                    log.warning("portrait %s is missing from storage; skipped", photo_id)
                    continue
                if photo is not None and photo.status == PhotoStatus.ACCEPTED:
                    outcome.embedded += 1
                else:
                    outcome.refused += 1


def _embed_accepted(session: Session, store: PhotoStore, engine: Engine, photo_ids: list[int]) -> int:
    """Run enrollment on each portrait again; how many the current model accepted (a missing file is skipped)."""
    embedded = 0
    for photo_id in photo_ids:
        try:
            photo = enroll_photo(session, store, engine, photo_id)
        except StorageError:
            log.warning("portrait %s is missing from storage; skipped", photo_id)
            continue
        embedded += int(photo is not None and photo.status == PhotoStatus.ACCEPTED)
    return embedded


def reembed_stale(engine: Engine, *, limit: int = STALE_BATCH) -> int:
    """Embed up to `limit` accepted portraits that have no embedding of engine.model_id; returns how many.

    The beat runs this every minute. Without it, after a model change the teacher's students of other courses
    would not count as outsiders of a session (gallery.outsider_gallery reads the current model only) until
    someone ran attendance-reembed. Portraits the new model refuses become REJECTED and are not tried again;
    the random order keeps a few portraits missing from storage from holding up the others.
    """
    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as s:
        ids = list(
            s.scalars(
                select(StudentPhoto.id)
                .where(StudentPhoto.status == PhotoStatus.ACCEPTED, ~_has_embedding_of(engine.model_id))
                .order_by(func.random())
                .limit(limit)
            )
        )
        embedded = _embed_accepted(s, make_store(settings), engine, ids)
    if ids:
        log.info("%d of %d portrait(s) embedded with model %s", embedded, len(ids), engine.model_id)
    return embedded


def reembed_course(session: Session, store: PhotoStore, engine: Engine, course_id: int) -> int:
    """Embed, inside the caller's transaction, the accepted portraits of a course's students that have no
    embedding of engine.model_id; returns how many were embedded.

    A new worker image with a new model pack would otherwise see an empty gallery (old embeddings are
    never compared) and mark the whole class absent until someone runs attendance-reembed. Portraits
    the new model refuses become REJECTED with its reason and are not tried again.
    """
    has_current = _has_embedding_of(engine.model_id)
    enrolled = select(Enrollment.student_id).where(Enrollment.course_id == course_id)
    ids = list(
        session.scalars(
            select(StudentPhoto.id)
            .where(StudentPhoto.student_id.in_(enrolled), StudentPhoto.status == PhotoStatus.ACCEPTED, ~has_current)
            .order_by(StudentPhoto.id)
        )
    )
    embedded = _embed_accepted(session, store, engine, ids)
    if ids:
        session.flush()
        log.info(
            "course %s: %d of %d portrait(s) embedded with model %s", course_id, embedded, len(ids), engine.model_id
        )
    return embedded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="attendance-reembed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--prune", action="store_true", help="delete embeddings made by other models afterwards")
    args = parser.parse_args(argv)
    configure_logging("worker")
    outcome = reembed_all(get_engine(), prune=args.prune)
    print(
        f"model {outcome.model_id}: {outcome.embedded} portrait(s) embedded, {outcome.refused} refused, "
        f"{outcome.missing} missing from storage, {outcome.pruned} old embedding(s) pruned",
        file=sys.stdout,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
