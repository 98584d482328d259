"""Enrollment: one portrait in, one verdict (accepted / refused with a code and a sentence) and one embedding out."""

from __future__ import annotations

import logging

import numpy as np
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from attendance_shared import refusals
from attendance_shared.db import upsert_insert
from attendance_shared.images import ImageRejected
from attendance_shared.locks import lock_student
from attendance_shared.models import FaceEmbedding, PhotoStatus, StudentPhoto
from attendance_shared.refusals import Refusal
from attendance_shared.storage import PhotoStore, is_direct_upload

from .direct_uploads import adopt_portrait
from .engine import Engine

log = logging.getLogger(__name__)


def _store_embedding(session: Session, photo: StudentPhoto, model_id: str, vector: np.ndarray) -> None:
    """Insert, or replace the one another process wrote meanwhile: an attendance job embedding its course and
    the beat's re-embedding (or a second delivery of an enrollment job) may embed the same portrait at once,
    and a plain INSERT would fail one of them on the (photo, model) unique constraint."""
    values = {
        "student_id": photo.student_id,
        "student_photo_id": photo.id,
        "model_id": model_id,
        "dim": int(vector.shape[0]),
        "vector": vector.tobytes(),
    }
    insert = upsert_insert(session, FaceEmbedding)
    if insert is None:
        session.add(FaceEmbedding(**values))
        return
    stmt = insert.values(**values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[FaceEmbedding.student_photo_id, FaceEmbedding.model_id],
            set_={"student_id": stmt.excluded.student_id, "dim": stmt.excluded.dim, "vector": stmt.excluded.vector},
        )
    )


def same_person_threshold(engine: Engine) -> float | None:
    """Below this similarity to every one of a student's accepted portraits, a new portrait is someone else: the
    pack's `confirm` threshold (the least a classroom face needs to be even proposed as that student), unless the
    pack's thresholds set `enroll_same_person`. On LFW (158 people x photos 1-3, default pack) no pair of one
    person's portraits falls below 0.38."""
    value = engine.thresholds.get("enroll_same_person", engine.thresholds.get("confirm"))
    return None if value is None else float(value)


def _other_portraits(session: Session, photo: StudentPhoto, model_id: str) -> np.ndarray | None:
    """(n, d) embeddings, by this model, of the student's other accepted portraits; None when there are none."""
    rows = session.execute(
        select(FaceEmbedding.vector, FaceEmbedding.dim)
        .join(StudentPhoto, StudentPhoto.id == FaceEmbedding.student_photo_id)
        .where(
            StudentPhoto.student_id == photo.student_id,
            StudentPhoto.id != photo.id,
            StudentPhoto.status == PhotoStatus.ACCEPTED,
            FaceEmbedding.model_id == model_id,
        )
    ).all()
    vectors = [np.frombuffer(vector, dtype=np.float32) for vector, dim in rows if len(vector) == 4 * dim]
    return np.stack(vectors) if vectors else None


def _mismatch(session: Session, photo: StudentPhoto, engine: Engine, vector: np.ndarray) -> Refusal | None:
    """The refusal for a portrait that is clearly not the person of the student's accepted portraits, else None.
    One mis-filed photo would otherwise teach the system the wrong face. A portrait accepted before (a second
    delivery of its job, a re-embedding after a model change) is not judged again: the teacher kept it. A portrait
    refused before (by this check or another) is judged again against the accepted portraits there are now."""
    threshold = same_person_threshold(engine)
    if threshold is None or photo.status == PhotoStatus.ACCEPTED:
        return None
    others = _other_portraits(session, photo, engine.model_id)
    if others is None or others.shape[1] != vector.shape[0]:
        return None  # the first portrait: nothing to compare with
    best = float((others @ vector).max())
    if best >= threshold:
        return None
    log.info(
        "portrait %s refused: best similarity %.3f to %d other portrait(s) is below %.2f",
        photo.id,
        best,
        len(others),
        threshold,
    )
    return refusals.not_the_same_person(photo.original_filename, photo.student.name)


def enroll_photo(session: Session, store: PhotoStore, engine: Engine, photo_id: int) -> StudentPhoto | None:
    """Idempotent: a second run replaces the verdict and the embedding, never adds a second one. A portrait to be
    judged holds its student's lock from the check to the caller's commit (attendance_shared.locks)."""
    photo = session.get(StudentPhoto, photo_id)
    if photo is None:
        return None
    if is_direct_upload(photo.storage_key):  # uploaded straight to S3: checked and moved first (direct_uploads)
        try:
            data = adopt_portrait(session, store, photo)
        except ImageRejected as exc:
            photo.status = PhotoStatus.REJECTED
            photo.refusal, photo.reason = refusals.unreadable(exc).code, str(exc)
            photo.face_box = None
            return photo
    else:
        data = store.get(photo.storage_key)
    result = engine.enroll(data, photo.original_filename)
    if photo.status != PhotoStatus.ACCEPTED:  # accepted ones are not judged, so need not wait (re-embedding)
        lock_student(session, photo.student_id)
    session.execute(
        delete(FaceEmbedding).where(
            FaceEmbedding.student_photo_id == photo.id, FaceEmbedding.model_id == engine.model_id
        )
    )
    vector = None if result.embedding is None else np.asarray(result.embedding, dtype=np.float32)
    refusal = result.refusal
    if result.accepted and vector is not None:
        refusal = _mismatch(session, photo, engine, vector)
    if result.accepted and vector is not None and refusal is None:
        photo.status = PhotoStatus.ACCEPTED
        photo.refusal, photo.reason = None, None
        photo.face_box = [float(v) for v in result.box] if result.box else None
        _store_embedding(session, photo, engine.model_id, vector)
    else:
        photo.status = PhotoStatus.REJECTED
        photo.refusal, photo.reason = (refusal.code, refusal.sentence) if refusal else (None, None)
        photo.face_box = None
    return photo
