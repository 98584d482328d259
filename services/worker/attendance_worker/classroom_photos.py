"""Attendance for one session: its waiting photos recognised, faces written, records merged.

Idempotent by construction: a photo's faces are replaced (not appended) on every run, records are
upserted under the UNIQUE(session, student) constraint, and manual decisions are never touched.
A job recognises only the photos that wait for it (new uploads, or all of them after "re-run"), so adding a
photo never redoes the teacher's review of the others; a re-run carries each reviewed face's verdict over to
the face found at the same place. One job at a time per session (session_lock).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import Session

from attendance_shared.db import upsert_insert
from attendance_shared.images import ImageRejected
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    FaceReview,
    Job,
    JobKind,
    JobState,
    RecordSource,
    SessionPhoto,
    SessionPhotoStatus,
    utcnow,
)
from attendance_shared.storage import PhotoStore, annotated_key

from .engine import Engine, merge_session
from .engine import FaceDecision as EngineDecision
from .engine.detector import box_iou
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
    students_present: int = 0  # students marked present in the session after this job (any photo, any source)
    students: int = 0

    def summary(self) -> str:
        """What the teacher reads first is the list: students present; then what this job did with faces."""
        text = f"{self.students_present} of {self.students} students present"
        if not self.photos:  # a job after another that took this one's photos too
            return text + "; no new photos to recognise."
        text += f". Recognised {self.photos} photo(s), {self.faces} face(s): {self.present} named"
        if self.confirm:
            text += f", {self.confirm} to confirm"
        if self.unknown:
            text += f", {self.unknown} unknown"
        if self.failed_photos:
            text += f"; {self.failed_photos} photo(s) could not be read"
        return text + "."


#: photos a job recognises: new or re-queued ones, and any a crashed job left mid-way
WAITING = (
    SessionPhotoStatus.QUEUED,
    SessionPhotoStatus.PROCESSING,
    SessionPhotoStatus.DETECTING,
    SessionPhotoStatus.MATCHING,
)


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
    data = store.get(photo.storage_key)
    _stage(session, photo, SessionPhotoStatus.DETECTING, WAITING)
    analysis = engine.analyze(data, photo.original_filename)
    _stage(session, photo, SessionPhotoStatus.MATCHING, (SessionPhotoStatus.DETECTING,))
    decisions = engine.match(analysis.faces, gallery, outsiders)
    earlier = _earlier_faces(session, photo.id)
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
    session.flush()
    _carry_over(session, earlier, faces, {int(sid) for sid in names})
    key = annotated_key(photo.storage_key)
    store.put(key, engine.annotate(analysis, decisions, names), "image/jpeg")
    photo.annotated_key = key
    photo.width, photo.height = int(analysis.width), int(analysis.height)
    photo.face_count = len(faces)
    photo.error = None
    photo.processed_at = utcnow()
    _stage(session, photo, SessionPhotoStatus.DONE, (SessionPhotoStatus.MATCHING,))
    return faces


@dataclass
class _EarlierFace:
    """A face of the photo's previous run, and what points at it (it is deleted before the new faces go in)."""

    box: list[float]
    review: FaceReview
    student_id: int | None
    candidate_student_id: int | None
    embedding_ids: list[int]
    record_ids: list[int]


def _earlier_faces(session: Session, photo_id: int) -> list[_EarlierFace]:
    faces = session.scalars(select(DetectedFace).where(DetectedFace.session_photo_id == photo_id)).all()
    if not faces:
        return []
    ids = [f.id for f in faces]
    embeddings: dict[int | None, list[int]] = defaultdict(list)
    records: dict[int | None, list[int]] = defaultdict(list)
    for emb_id, face_id in session.execute(
        select(FaceEmbedding.id, FaceEmbedding.detected_face_id).where(FaceEmbedding.detected_face_id.in_(ids))
    ):
        embeddings[face_id].append(emb_id)
    for rec_id, face_id in session.execute(
        select(AttendanceRecord.id, AttendanceRecord.detected_face_id).where(AttendanceRecord.detected_face_id.in_(ids))
    ):
        records[face_id].append(rec_id)
    return [
        _EarlierFace(f.box, f.review, f.student_id, f.candidate_student_id, embeddings[f.id], records[f.id])
        for f in faces
        if f.review != FaceReview.NONE or embeddings[f.id] or records[f.id]
    ]


#: a face of the new run is "the same face" as one of the previous run when their boxes overlap this much
SAME_FACE_IOU = 0.5


def _carry_over(
    session: Session, earlier: list[_EarlierFace], faces: list[DetectedFace], course_students: set[int]
) -> None:
    """The teacher's verdicts on the previous run's faces hold for the faces found at the same place: a confirmed
    or assigned face stays that student's (while they are still in the course), a rejected match stays rejected
    (while the new run proposes the same student), and the gallery embedding and attendance records that pointed
    at the old face point at the new one (a later "reject" can still take the face out of the gallery)."""
    taken: set[int] = set()
    for old in earlier:
        overlaps = [(box_iou(old.box, f.box), i) for i, f in enumerate(faces) if i not in taken]
        best, index = max(overlaps, default=(0.0, -1))
        if best < SAME_FACE_IOU:
            continue
        taken.add(index)
        face = faces[index]
        if old.review in (FaceReview.CONFIRMED, FaceReview.ASSIGNED) and old.student_id in course_students:
            face.student_id, face.review = old.student_id, old.review
        elif (
            old.review == FaceReview.REJECTED
            and old.candidate_student_id is not None  # the student was deleted since: nothing left to refuse
            and old.candidate_student_id in (face.student_id, face.candidate_student_id)
        ):
            face.student_id, face.review = None, FaceReview.REJECTED
        if old.embedding_ids:
            session.execute(
                update(FaceEmbedding).where(FaceEmbedding.id.in_(old.embedding_ids)).values(detected_face_id=face.id)
            )
        if old.record_ids:
            session.execute(
                update(AttendanceRecord).where(AttendanceRecord.id.in_(old.record_ids)).values(detected_face_id=face.id)
            )


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
    Enrollments have no date, so a student without a record in a session that an earlier job already
    recorded (_recorded_before) joined the course since: they are recorded when recognised, never marked
    absent from a lesson that took place before they joined (the course report leaves such sessions out of
    their rate because there is no record). On the first run every student in the course gets a record.
    The rule itself is the engine's merge_session, applied to the faces as stored (teachers' corrections
    included), so the worker and the command-line engine cannot disagree."""
    faces = session.scalars(
        select(DetectedFace)
        .join(SessionPhoto)
        .where(SessionPhoto.session_id == att.id)
        .order_by(DetectedFace.session_photo_id, DetectedFace.face_index)
        # The faces as stored now: this job's session still holds the ones it wrote (expire_on_commit is off),
        # and the teacher may have rejected or assigned one on the review page since.
        .execution_options(populate_existing=True)
    ).all()
    by_photo: dict[int, list[DetectedFace]] = defaultdict(list)
    for face in faces:
        by_photo[face.session_photo_id].append(face)
    photos = list(by_photo.values())
    matches = merge_session([[_as_decision(f) for f in photo_faces] for photo_faces in photos])
    best = {
        int(person): photos[m.photo_index][m.face_index] for person, m in matches.items() if m.decision == "present"
    }
    existing = dict(
        session.execute(
            select(AttendanceRecord.student_id, AttendanceRecord.source).where(AttendanceRecord.session_id == att.id)
        ).all()
    )
    earlier_run = _recorded_before(session, att)
    present = 0
    for student in att.course.students:
        matched = best.get(student.id)
        present += matched is not None
        if matched is None and earlier_run and student.id not in existing:
            continue  # enrolled after this lesson was first recorded: no record, not "absent"
        values = {
            "status": AttendanceStatus.PRESENT if matched else AttendanceStatus.ABSENT,
            "detected_face_id": matched.id if matched else None,
            "similarity": matched.similarity if matched else None,
        }
        if student.id not in existing:
            _insert_record(session, att.id, student.id, values)
        elif existing[student.id] == RecordSource.AUTO:
            # The condition is checked by the database at the moment of writing: a teacher's mark that landed
            # since the read above is never overwritten.
            session.execute(
                update(AttendanceRecord)
                .where(
                    AttendanceRecord.session_id == att.id,
                    AttendanceRecord.student_id == student.id,
                    AttendanceRecord.source == RecordSource.AUTO,
                )
                .values(**values)
                .execution_options(synchronize_session=False)
            )
    return present, len(att.course.students) - present


def _recorded_before(session: Session, att: AttendanceSession) -> bool:
    """Whether an earlier attendance job on this session has succeeded, i.e. its merge wrote the session's
    records. Records cannot tell: the review page accepts face actions while the first job still runs, and a
    teacher's click can leave an automatic record before this merge writes any. The job running this merge is
    not finished yet (finish() comes after), so it never counts. Jobs older than the session itself belong to
    another session that once had the same id (SQLite may reuse the id of a deleted course's last session)."""
    session_created = select(AttendanceSession.created_at).where(AttendanceSession.id == att.id).scalar_subquery()
    return bool(
        session.scalar(
            select(
                exists().where(
                    Job.kind == JobKind.ATTENDANCE,
                    Job.subject_id == att.id,
                    Job.state == JobState.SUCCEEDED,
                    Job.created_at >= session_created,
                )
            )
        )
    )


def _insert_record(session: Session, session_id: int, student_id: int, values: dict) -> None:
    """A new automatic record, unless the teacher's own mark was created meanwhile (then theirs stands)."""
    row = {"session_id": session_id, "student_id": student_id, "source": RecordSource.AUTO, **values}
    insert = upsert_insert(session, AttendanceRecord)
    if insert is None:
        session.add(AttendanceRecord(**row))
        return
    session.execute(
        insert.values(**row).on_conflict_do_nothing(
            index_elements=[AttendanceRecord.session_id, AttendanceRecord.student_id]
        )
    )


def process_session(
    session: Session, store: PhotoStore, engine: Engine, session_id: int, report: Progress
) -> SessionOutcome | None:
    with session_job_lock(session, session_id):  # read only once a job before this one has finished
        att = session.get(AttendanceSession, session_id)
        if att is None:
            return None
        return _process_waiting_photos(session, store, engine, att, report)


def _process_waiting_photos(
    session: Session, store: PhotoStore, engine: Engine, att: AttendanceSession, report: Progress
) -> SessionOutcome:
    outcome = SessionOutcome()
    for gone in (p for p in att.photos if not p.storage_key and p.status in WAITING):
        gone.status = SessionPhotoStatus.FAILED  # purged by the retention period before its turn came
        gone.error = "This photo was deleted (retention period) before it could be recognised."
    photos = [p for p in att.photos if p.storage_key and p.status in WAITING]
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
    course_students = [s.id for s in att.course.students]
    outcome.students = len(course_students)
    outcome.students_present = (
        session.scalar(
            select(func.count())
            .select_from(AttendanceRecord)
            .where(
                AttendanceRecord.session_id == att.id,
                AttendanceRecord.student_id.in_(course_students),
                AttendanceRecord.status == AttendanceStatus.PRESENT,
            )
        )
        or 0
    )
    return outcome
