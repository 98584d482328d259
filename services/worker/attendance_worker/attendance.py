"""Attendance for one session: every photo recognised, faces written, records merged.

Idempotent by construction: a photo's faces are replaced (not appended) on every run, records are
upserted under the UNIQUE(session, student) constraint, and manual decisions are never touched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from attendance_shared.images import ImageRejected
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
    utcnow,
)
from attendance_shared.storage import PhotoStore, annotated_key

from .engine import Engine, merge_session
from .engine import FaceDecision as EngineDecision
from .gallery import course_gallery, outsider_gallery
from .reembed import reembed_course

Progress = Callable[[int, str], None]


@dataclass
class SessionOutcome:
    photos: int = 0
    failed_photos: int = 0
    faces: int = 0
    present: int = 0
    confirm: int = 0
    unknown: int = 0

    def summary(self) -> str:
        text = f"{self.photos} photo(s), {self.faces} face(s): {self.present} present"
        if self.confirm:
            text += f", {self.confirm} to confirm"
        if self.unknown:
            text += f", {self.unknown} unknown"
        if self.failed_photos:
            text += f"; {self.failed_photos} photo(s) could not be read"
        return text


def _stage(session: Session, photo: SessionPhoto, status: SessionPhotoStatus) -> None:
    """Commit the photo's stage so the teacher's page shows it live."""
    photo.status = status
    session.commit()


def recognise_photo(
    session: Session,
    store: PhotoStore,
    engine: Engine,
    photo: SessionPhoto,
    gallery: dict,
    names: dict[str, str],
    outsiders: dict | None = None,
) -> list[DetectedFace]:
    """Detect, embed and match one photo; replace its detected faces; store the annotated image."""
    assert photo.storage_key is not None
    data = store.get(photo.storage_key)
    _stage(session, photo, SessionPhotoStatus.DETECTING)
    analysis = engine.analyze(data, photo.original_filename)
    _stage(session, photo, SessionPhotoStatus.MATCHING)
    decisions = engine.match(analysis.faces, gallery, outsiders)
    session.execute(delete(DetectedFace).where(DetectedFace.session_photo_id == photo.id))
    faces: list[DetectedFace] = []
    for index, (face, decision) in enumerate(zip(analysis.faces, decisions, strict=True)):
        row = DetectedFace(
            session_photo_id=photo.id,
            face_index=index,
            box=[round(float(v), 1) for v in face.box],
            landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
            detection_score=float(face.detection_score),
            face_px=int(face.face_px),
            decision=FaceDecision(decision.decision),
            student_id=int(decision.person) if decision.person else None,
            candidate_student_id=int(decision.candidate) if decision.candidate else None,
            similarity=float(decision.similarity),
            model_id=engine.model_id,
            embedding=face.embedding.astype("float32").tobytes() if face.embedding is not None else None,
        )
        session.add(row)
        faces.append(row)
    key = annotated_key(photo.storage_key)
    store.put(key, engine.annotate(analysis, decisions, names), "image/jpeg")
    photo.annotated_key = key
    photo.width, photo.height = int(analysis.width), int(analysis.height)
    photo.face_count = len(faces)
    photo.status = SessionPhotoStatus.DONE
    photo.error = None
    photo.processed_at = utcnow()
    return faces


def _as_decision(face: DetectedFace) -> EngineDecision:
    """A stored face as the engine's decision: `person` only for a present face still tied to a student."""
    present = face.decision == FaceDecision.PRESENT and face.student_id is not None
    return EngineDecision(
        decision=face.decision.value,
        person=str(face.student_id) if present else None,
        candidate=str(face.candidate_student_id) if face.candidate_student_id else None,
        similarity=face.similarity,
    )


def merge_records(session: Session, att: AttendanceSession) -> tuple[int, int]:
    """Present when a face in any photo was confidently matched (the best face kept); absent otherwise.
    "confirm" faces never make a student present; manual records are left exactly as they are.
    The rule itself is the engine's merge_session, applied to the faces as stored (teachers' corrections
    included), so the worker and the command-line engine cannot disagree."""
    faces = session.scalars(
        select(DetectedFace)
        .join(SessionPhoto)
        .where(SessionPhoto.session_id == att.id)
        .order_by(DetectedFace.session_photo_id, DetectedFace.face_index)
    ).all()
    by_photo: dict[int, list[DetectedFace]] = defaultdict(list)
    for face in faces:
        by_photo[face.session_photo_id].append(face)
    photos = list(by_photo.values())
    matches = merge_session([[_as_decision(f) for f in photo_faces] for photo_faces in photos])
    best = {
        int(person): photos[m.photo_index][m.face_index] for person, m in matches.items() if m.decision == "present"
    }
    existing = {
        r.student_id: r for r in session.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == att.id))
    }
    present = 0
    for student in att.course.students:
        matched = best.get(student.id)
        record = existing.get(student.id)
        if record is None:
            record = AttendanceRecord(session_id=att.id, student_id=student.id, source=RecordSource.AUTO)
            session.add(record)
        if matched is not None:
            present += 1
        if record.source == RecordSource.MANUAL:
            continue
        record.status = AttendanceStatus.PRESENT if matched else AttendanceStatus.ABSENT
        record.detected_face_id = matched.id if matched else None
        record.similarity = matched.similarity if matched else None
    return present, len(att.course.students) - present


def process_session(
    session: Session, store: PhotoStore, engine: Engine, session_id: int, report: Progress
) -> SessionOutcome | None:
    att = session.get(AttendanceSession, session_id)
    if att is None:
        return None
    outcome = SessionOutcome()
    photos = [p for p in att.photos if p.storage_key]
    if reembed_course(session, store, engine, att.course_id):
        report(3, "Updated the class's portraits for the current face model")
    gallery = course_gallery(session, att.course_id, engine.model_id)
    outsiders = outsider_gallery(session, att.course_id, engine.model_id)
    names = {str(s.id): s.name for s in att.course.students}
    report(5, f"Recognising {len(photos)} photo(s)")
    for done, photo in enumerate(photos, start=1):
        try:
            faces = recognise_photo(session, store, engine, photo, gallery, names, outsiders)
        except ImageRejected as exc:
            session.rollback()
            photo.status = SessionPhotoStatus.FAILED
            photo.error = str(exc)
            outcome.failed_photos += 1
            faces = []
        outcome.photos += 1
        outcome.faces += len(faces)
        for f in faces:
            if f.decision == FaceDecision.PRESENT:
                outcome.present += 1
            elif f.decision == FaceDecision.CONFIRM:
                outcome.confirm += 1
            else:
                outcome.unknown += 1
        session.commit()
        report(5 + int(90 * done / max(len(photos), 1)), f"Photo {done} of {len(photos)} done")
    merge_records(session, att)
    session.commit()
    return outcome
