"""A course's gallery: the enrolled students' embeddings made by the current model only."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance_shared.models import Enrollment, FaceEmbedding


def course_gallery(session: Session, course_id: int, model_id: str) -> dict[str, np.ndarray]:
    """person id (str(student_id)) -> (k x d) float32 matrix; embeddings of other models are ignored."""
    rows = session.execute(
        select(FaceEmbedding.student_id, FaceEmbedding.vector)
        .join(Enrollment, Enrollment.student_id == FaceEmbedding.student_id)
        .where(Enrollment.course_id == course_id, FaceEmbedding.model_id == model_id)
        .order_by(FaceEmbedding.student_id, FaceEmbedding.id)
    ).all()
    vectors: dict[str, list[np.ndarray]] = defaultdict(list)
    for student_id, blob in rows:
        vectors[str(student_id)].append(np.frombuffer(blob, dtype=np.float32))
    return {person: np.vstack(vs) for person, vs in vectors.items()}
