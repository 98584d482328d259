"""A classroom photo, the worker's half: a session's waiting photos recognised, faces written, records merged.

(The web's half, the upload, is attendance_web.sessions.classroom_photos; the rules for faces and records that
follow are attendance_shared.records.) Idempotent by construction: a photo's faces are replaced (not appended) on
every run, records are upserted under the UNIQUE(session, student) constraint, and manual decisions are never touched.
A job recognises only the photos that wait for it (new uploads, or all of them after "re-run"), so adding a
photo never redoes the teacher's review of the others; a re-run carries each reviewed face's verdict over to
the face found at the same place. One job at a time per session (session_lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from attendance_shared.images import ImageRejected
from attendance_shared.models import (
    AttendanceSession,
    DetectedFace,
    FaceDecision,
    FaceLegibility,
    SessionPhoto,
    SessionPhotoStatus,
    utcnow,
)
from attendance_shared.records import (
    PHOTOS_IN_RECOGNITION,
    FaceKind,
    attended_count,
    carry_over,
    earlier_faces,
    face_kind,
    merge_records,
)
from attendance_shared.storage import PhotoStore, annotated_key, is_direct_upload

from .direct_uploads import adopt_session_photo
from .engine import Engine
from .engine.matching import legibility
from .gallery import course_gallery, outsider_gallery
from .reembed import reembed_course
from .session_lock import session_job_lock

Progress = Callable[[int, str], None]


@dataclass
class SessionOutcome:
    photos: int = 0
    failed_photos: int = 0
    faces: int = 0
    present: int = 0  # faces named confidently
    confirm: int = 0
    unknown: int = 0
    rejected: int = 0  # the teacher said earlier that this face is not the student proposed (kept on a re-run)
    students_present: int = 0  # students attended (present or late) after this job (any photo, any source)
    students_late: int = 0  # of whom marked late (by the teacher: recognition never marks anyone late)
    students: int = 0

    def summary(self) -> str:
        """What the teacher reads first is the list: students present; then what this job did with faces."""
        text = f"{self.students_present} of {self.students} students present"
        if self.students_late:
            text += f" ({self.students_late} late)"
        if not self.photos:  # a job after another that took this one's photos too
            return text + "; no new photos to recognise."
        text += f". Recognised {self.photos} photo(s), {self.faces} face(s): {self.present} named"
        if self.confirm:
            text += f", {self.confirm} to confirm"
        if self.unknown:
            text += f", {self.unknown} unknown"
        if self.rejected:
            text += f", {self.rejected} rejected by you"
        if self.failed_photos:
            text += f"; {self.failed_photos} photo(s) could not be read"
        return text + "."


def _stage(
    session: Session, photo: SessionPhoto, to: SessionPhotoStatus, expected: tuple[SessionPhotoStatus, ...]
) -> None:
    """Move the photo to its next stage (committed, so the teacher's page shows it live), but only from the stage
    this job left it in: a "Run recognition again" meanwhile set it back to queued, and it must stay so for the
    job that click started (this job's result came from the gallery as it was before the click)."""
    session.execute(
        update(SessionPhoto)
        .where(SessionPhoto.id == photo.id, SessionPhoto.status.in_(expected))
        .values(status=to)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    session.expire(photo, ["status"])


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
    if is_direct_upload(photo.storage_key):  # uploaded straight to S3: checked and moved first (direct_uploads)
        data = adopt_session_photo(session, store, photo)
    else:
        data = store.get(photo.storage_key)
    _stage(session, photo, SessionPhotoStatus.DETECTING, PHOTOS_IN_RECOGNITION)
    analysis = engine.analyze(data, photo.original_filename)
    _stage(session, photo, SessionPhotoStatus.MATCHING, (SessionPhotoStatus.DETECTING,))
    decisions = engine.match(analysis.faces, gallery, outsiders)
    earlier = earlier_faces(session, photo.id)
    session.execute(delete(DetectedFace).where(DetectedFace.session_photo_id == photo.id))
    faces: list[DetectedFace] = []
    for index, (face, decision) in enumerate(zip(analysis.faces, decisions, strict=True)):
        unclear = legibility(face.quality, decision.decision, engine.thresholds)
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
            legibility=FaceLegibility(unclear) if unclear else None,
            model_id=engine.model_id,
            embedding=face.embedding.astype("float32").tobytes() if face.embedding is not None else None,
        )
        session.add(row)
        faces.append(row)
    session.flush()
    carry_over(session, earlier, faces, {int(sid) for sid in names})
    key = annotated_key(photo.storage_key)
    store.put(key, engine.annotate(analysis, decisions, names), "image/jpeg")
    photo.annotated_key = key
    photo.width, photo.height = int(analysis.width), int(analysis.height)
    photo.face_count = len(faces)
    photo.error = None
    photo.processed_at = utcnow()
    _stage(session, photo, SessionPhotoStatus.DONE, (SessionPhotoStatus.MATCHING,))
    return faces


def process_session(
    session: Session,
    store: PhotoStore,
    engine: Engine,
    session_id: int,
    report: Progress,
    job_id: str | None = None,
) -> SessionOutcome | None:
    """job_id: the job this runs for. Its photos are stamped with it, and its outcome counts every photo so
    stamped: a delivery after a worker died counts those the first delivery finished too."""
    with session_job_lock(session, session_id):  # read only once a job before this one has finished
        att = session.get(AttendanceSession, session_id)
        if att is None:
            return None
        return _process_waiting_photos(session, store, engine, att, report, job_id)


def _count(outcome: SessionOutcome, photo: SessionPhoto, faces: list[DetectedFace]) -> None:
    """One recognised (or unreadable) photo and its faces, as the review page counts them (records.face_kind):
    a rejected face is not unknown."""
    outcome.photos += 1
    if photo.status == SessionPhotoStatus.FAILED:
        outcome.failed_photos += 1
    outcome.faces += len(faces)
    for f in faces:
        kind = face_kind(f)
        if kind == FaceKind.MATCHED:
            outcome.present += 1
        elif kind == FaceKind.CONFIRM:
            outcome.confirm += 1
        elif kind == FaceKind.UNKNOWN:
            outcome.unknown += 1
        else:
            outcome.rejected += 1


def _job_outcome(session: Session, att: AttendanceSession, job_id: str) -> SessionOutcome:
    """Every photo of the session stamped with this job, read back from the rows: those this delivery
    recognised and those an earlier delivery of the same job did before its worker died."""
    outcome = SessionOutcome()
    photos = session.scalars(
        select(SessionPhoto)
        .where(SessionPhoto.session_id == att.id, SessionPhoto.job_id == job_id)
        .order_by(SessionPhoto.id)
    )
    for photo in photos:
        _count(outcome, photo, [] if photo.status == SessionPhotoStatus.FAILED else list(photo.faces))
    return outcome


def _process_waiting_photos(
    session: Session,
    store: PhotoStore,
    engine: Engine,
    att: AttendanceSession,
    report: Progress,
    job_id: str | None = None,
) -> SessionOutcome:
    outcome = SessionOutcome()
    for gone in (p for p in att.photos if not p.storage_key and p.status in PHOTOS_IN_RECOGNITION):
        gone.status = SessionPhotoStatus.FAILED  # purged by the retention period before its turn came
        gone.error = "This photo was deleted (retention period) before it could be recognised."
    photos = [p for p in att.photos if p.storage_key and p.status in PHOTOS_IN_RECOGNITION]
    if job_id is not None:  # this job takes them: committed, so a later delivery of it still counts them
        for photo in photos:
            photo.job_id = job_id
        session.commit()
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
            faces = []
        _count(outcome, photo, faces)
        session.commit()
        report(5 + int(90 * done / max(len(photos), 1)), f"Photo {done} of {len(photos)} done")
    merge_records(session, att)
    session.commit()
    if job_id is not None:
        outcome = _job_outcome(session, att, job_id)
    course_students = [s.id for s in att.course.students]
    outcome.students = len(course_students)
    outcome.students_present, outcome.students_late = attended_count(session, att.id, course_students)
    return outcome
