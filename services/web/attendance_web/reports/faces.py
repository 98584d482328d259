"""Unknown faces in reports, named the way the review page names them ("Face 3 in photo 1"), never by id.

The shared report gives each face's database id; teachers never see those ids, so the face is placed
again here: its photo's number in the session (photos in upload order, as on the review page) and
its own number in that photo (face_index + 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from attendance_shared.models import DetectedFace, SessionPhoto

from ..extensions import db
from .queries import SessionReport, UnknownFace


@dataclass(frozen=True)
class PlacedFace:
    face: UnknownFace
    photo_number: int
    face_number: int

    @property
    def where(self) -> str:
        return f"Face {self.face_number} in photo {self.photo_number}"


def place_unknown_faces(report: SessionReport) -> list[PlacedFace]:
    """The report's unknown faces with the review page's numbers; two small queries."""
    if not report.unknown_faces:
        return []
    photo_ids = db().scalars(
        select(SessionPhoto.id).where(SessionPhoto.session_id == report.session.id).order_by(SessionPhoto.id)
    )
    photo_number = {photo_id: n for n, photo_id in enumerate(photo_ids, start=1)}
    face_ids = [f.face_id for f in report.unknown_faces]
    rows = db().execute(select(DetectedFace.id, DetectedFace.face_index).where(DetectedFace.id.in_(face_ids)))
    face_index = {face_id: index for face_id, index in rows}
    return [
        PlacedFace(f, photo_number.get(f.photo_id, 0), face_index.get(f.face_id, 0) + 1) for f in report.unknown_faces
    ]
