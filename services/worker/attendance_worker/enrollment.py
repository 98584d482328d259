"""Enrollment: one portrait in, one verdict (accepted / refused with a reason) and one embedding out."""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from attendance_shared.db import upsert_insert
from attendance_shared.models import FaceEmbedding, PhotoStatus, StudentPhoto
from attendance_shared.storage import PhotoStore

from .engine import Engine


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


def enroll_photo(session: Session, store: PhotoStore, engine: Engine, photo_id: int) -> StudentPhoto | None:
    """Idempotent: a second run replaces the verdict and the embedding, never adds a second one."""
    photo = session.get(StudentPhoto, photo_id)
    if photo is None:
        return None
    data = store.get(photo.storage_key)
    result = engine.enroll(data, photo.original_filename)
    session.execute(
        delete(FaceEmbedding).where(
            FaceEmbedding.student_photo_id == photo.id, FaceEmbedding.model_id == engine.model_id
        )
    )
    if result.accepted and result.embedding is not None:
        vector = np.asarray(result.embedding, dtype=np.float32)
        photo.status = PhotoStatus.ACCEPTED
        photo.reason = None
        photo.face_box = [float(v) for v in result.box] if result.box else None
        _store_embedding(session, photo, engine.model_id, vector)
    else:
        photo.status = PhotoStatus.REJECTED
        photo.reason = result.reason
        photo.face_box = None
    return photo
