"""Faces learned from classroom photos: a face the teacher confirmed or assigned joins the student's gallery
(sessions/corrections.add_to_gallery). The student page lists them beside the portraits, each with the session it came
from, and the teacher can take one out of the gallery (a wrong face would keep recognising the wrong person). The
face's verdict in its session stays: only the embedding goes."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance_shared.models import AttendanceSession, Course, DetectedFace, FaceEmbedding, SessionPhoto, Student

from ..courses.forms import DeleteForm
from ..extensions import db
from ..ids import parse_id
from ..ownership import owned_student
from . import bp


@dataclass(frozen=True)
class LearnedFace:
    embedding_id: int
    face: DetectedFace
    photo: SessionPhoto
    session: AttendanceSession
    course: Course

    @property
    def viewbox(self) -> str:
        """An SVG viewBox around the face with a margin, as the review page's thumbnails (a crop of the photo)."""
        x1, y1, x2, y2 = (float(v) for v in self.face.box)
        side = max(x2 - x1, y2 - y1, 1.0) * 1.6
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        return f"{cx - side / 2:.1f} {cy - side / 2:.1f} {side:.1f} {side:.1f}"

    def description(self, name: str) -> str:
        where = f"{self.photo.original_filename}, session of {self.session.title}"
        return f"{name}'s face {self.face.face_index + 1} in {where}"


def learned_faces(session: Session, student: Student) -> list[LearnedFace]:
    """The student's gallery entries that came from classroom faces, newest lesson first. One query."""
    rows = session.execute(
        select(FaceEmbedding.id, DetectedFace, SessionPhoto, AttendanceSession, Course)
        .join(DetectedFace, DetectedFace.id == FaceEmbedding.detected_face_id)
        .join(SessionPhoto, SessionPhoto.id == DetectedFace.session_photo_id)
        .join(AttendanceSession, AttendanceSession.id == SessionPhoto.session_id)
        .join(Course, Course.id == AttendanceSession.course_id)
        .where(FaceEmbedding.student_id == student.id)
        .order_by(AttendanceSession.date.desc(), AttendanceSession.id.desc(), DetectedFace.id)
    ).all()
    return [LearnedFace(*row) for row in rows]


@bp.route("/students/<int:student_id>/learned-faces/<int:embedding_id>/delete", methods=["POST"])
@login_required
def forget_face(student_id: int, embedding_id: int) -> ResponseReturnValue:
    """Take a learned face out of the student's gallery; its verdict on the review page stays as it is."""
    student = owned_student(student_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    learned = next((lf for lf in learned_faces(db(), student) if lf.embedding_id == embedding_id), None)
    if learned is None:
        abort(404)
    embedding = db().get(FaceEmbedding, embedding_id)
    db().delete(embedding)
    db().commit()
    flash(
        f"The face from the session of {learned.session.title} no longer helps recognise {student.name}. "
        "It stays marked as theirs in that session.",
        "success",
    )
    course = parse_id(request.values.get("course"))  # the course page the teacher came from, carried back
    return redirect(url_for("students.show", student_id=student.id, course=course, _anchor="learned-faces")), 303
