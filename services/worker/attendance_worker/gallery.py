"""A course's gallery (the enrolled students' embeddings made by the current model only) and its outsiders."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from attendance_shared.models import Course, Enrollment, FaceEmbedding, Student


def course_gallery(session: Session, course_id: int, model_id: str) -> dict[str, np.ndarray]:
    """person id (str(student_id)) -> (k x d) float32 matrix; embeddings of other models are ignored."""
    rows = session.execute(
        select(FaceEmbedding.student_id, FaceEmbedding.vector)
        .join(Enrollment, Enrollment.student_id == FaceEmbedding.student_id)
        .where(Enrollment.course_id == course_id, FaceEmbedding.model_id == model_id)
        .order_by(FaceEmbedding.student_id, FaceEmbedding.id)
    ).all()
    return _by_student(rows)


def outsider_gallery(session: Session, course_id: int, model_id: str) -> dict[str, np.ndarray]:
    """The same teacher's students who are NOT in this course (current model only): never marked in its sessions,
    they keep a look-alike's face (a sibling in another class) from being given to a course student. Only the
    course's own teacher's students: no other teacher's data is read."""
    enrolled = select(Enrollment.student_id).where(Enrollment.course_id == course_id)
    teacher = select(Course.teacher_id).where(Course.id == course_id).scalar_subquery()
    rows = session.execute(
        select(FaceEmbedding.student_id, FaceEmbedding.vector)
        .join(Student, Student.id == FaceEmbedding.student_id)
        .where(
            Student.teacher_id == teacher,
            Student.id.not_in(enrolled),
            FaceEmbedding.model_id == model_id,
        )
        .order_by(FaceEmbedding.student_id, FaceEmbedding.id)
    ).all()
    return _by_student(rows)


def _by_student(rows: Sequence[Row[int, bytes]]) -> dict[str, np.ndarray]:
    vectors: dict[str, list[np.ndarray]] = defaultdict(list)
    for student_id, blob in rows:
        vectors[str(student_id)].append(np.frombuffer(blob, dtype=np.float32))
    return {person: np.vstack(vs) for person, vs in vectors.items()}
