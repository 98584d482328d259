"""A teacher's corrections to a session's attendance, as plain functions over a database session.

Rules, kept deliberately simple and explicit:
- A hand mark (present / absent / excused) or a face decision that changes who is present makes the
  student's record `manual` and writes an AttendanceChange (who, when, from, to, note). Manual
  records are never overwritten by a re-run of recognition.
- A "confirm" face never makes anyone present until the teacher confirms it.
- Confirming or assigning a face adds its embedding to the student's gallery (so later sessions
  recognise them better); rejecting it removes that embedding again.
- Rejecting a match takes the present mark away only when no other face in the session supports it;
  the record is then an automatic absent (not a hand mark), so a face recognised later can still mark
  the student present. A mark given by hand with the Present / Absent / Excused buttons stays.
- Rejecting a "confirm" face changes no attendance (the student was not present because of it), so
  the record stays automatic; the decision is still written to the history.

Nothing here commits: the caller commits once, so an action is all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceStatus,
    DetectedFace,
    Enrollment,
    FaceDecision,
    FaceEmbedding,
    FaceReview,
    RecordSource,
    SessionPhoto,
    Student,
    utcnow,
)

NOTE_MAX = 255


class ReviewRefused(ValueError):
    """The action does not apply to this face or student; `str(exc)` is shown to the teacher."""


@dataclass(frozen=True)
class Outcome:
    """What an action did, in a sentence for the teacher; `record` is the student record it touched."""

    message: str
    record: AttendanceRecord | None = None


# --- small helpers --------------------------------------------------------------------------------


def is_enrolled(db: Session, course_id: int, student_id: int) -> bool:
    stmt = select(exists().where(Enrollment.course_id == course_id, Enrollment.student_id == student_id))
    return bool(db.scalar(stmt))


def face_label(face: DetectedFace) -> str:
    """How the teacher sees a face in messages and history: its number and its photo's file name."""
    return f"face {face.face_index + 1} in {face.photo.original_filename}"


def _record_stmt(session_id: int, student_id: int):  # type: ignore[no-untyped-def]
    return select(AttendanceRecord).where(
        AttendanceRecord.session_id == session_id, AttendanceRecord.student_id == student_id
    )


def _record_for(db: Session, session_id: int, student_id: int) -> tuple[AttendanceRecord, AttendanceStatus | None]:
    """The student's record for the session, created when missing; with its status before the change."""
    record = db.scalar(_record_stmt(session_id, student_id))
    if record is not None:
        return record, record.status
    record = AttendanceRecord(
        session_id=session_id, student_id=student_id, status=AttendanceStatus.ABSENT, source=RecordSource.MANUAL
    )
    try:
        with db.begin_nested():
            db.add(record)
    except IntegrityError:  # created by a concurrent request (or the worker) a moment ago
        found = db.scalar(_record_stmt(session_id, student_id))
        assert found is not None
        return found, found.status
    return record, None


def _write(
    db: Session,
    record: AttendanceRecord,
    previous: AttendanceStatus | None,
    to_status: AttendanceStatus,
    teacher_id: int,
    note: str,
    *,
    make_manual: bool = True,
) -> AttendanceChange:
    """Apply the status and log it; the one place an AttendanceChange is written."""
    record.status = to_status
    if make_manual:
        record.source = RecordSource.MANUAL
        record.updated_by_id = teacher_id
        record.updated_at = utcnow()
    change = AttendanceChange(
        record_id=record.id,
        changed_by_id=teacher_id,
        changed_at=utcnow(),
        from_status=previous.value if previous else None,
        to_status=to_status.value,
        note=note[:NOTE_MAX] or None,
    )
    db.add(change)
    return change


def _student_name(db: Session, student_id: int) -> str:
    student = db.get(Student, student_id)
    return student.name if student else "that student"


def supporting_faces(
    db: Session, session_id: int, student_id: int, *, excluding: int | None = None
) -> list[DetectedFace]:
    """Faces in this session that currently say the student is here (best match first)."""
    stmt = (
        select(DetectedFace)
        .join(SessionPhoto)
        .where(
            SessionPhoto.session_id == session_id,
            DetectedFace.student_id == student_id,
            DetectedFace.review != FaceReview.REJECTED,
        )
        .order_by(DetectedFace.similarity.desc(), DetectedFace.id)
    )
    return [f for f in db.scalars(stmt) if f.id != excluding]


# --- the gallery ----------------------------------------------------------------------------------


def add_to_gallery(db: Session, face: DetectedFace, student_id: int) -> bool:
    """The face's embedding joins the student's gallery (one row per face and model). False without one."""
    if not face.embedding:
        return False
    existing = db.scalar(
        select(FaceEmbedding).where(FaceEmbedding.detected_face_id == face.id, FaceEmbedding.model_id == face.model_id)
    )
    if existing is not None:
        existing.student_id = student_id
        return True
    row = FaceEmbedding(
        student_id=student_id,
        detected_face_id=face.id,
        model_id=face.model_id,
        dim=len(face.embedding) // 4,
        vector=face.embedding,
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:  # the same click arrived twice at once; the other request stored it
        pass
    return True


def remove_from_gallery(db: Session, face: DetectedFace) -> None:
    db.execute(delete(FaceEmbedding).where(FaceEmbedding.detected_face_id == face.id))


# --- actions --------------------------------------------------------------------------------------


def set_status(
    db: Session, session_id: int, student_id: int, status: AttendanceStatus, teacher_id: int, note: str = ""
) -> Outcome:
    """Mark a student present / absent / excused by hand. The caller checked enrolment and ownership."""
    name = _student_name(db, student_id)
    record, previous = _record_for(db, session_id, student_id)
    if previous == status and not note.strip():  # nothing to record (a note alone is worth a history row)
        return Outcome(f"{name} was already marked {status.value}.", record)
    record.detected_face_id = None  # a mark by hand stands on its own, not on a face
    record.similarity = None
    _write(db, record, previous, status, teacher_id, note.strip() or "Marked by hand")
    return Outcome(f"{name} is now marked {status.value}.", record)


def _detach(db: Session, face: DetectedFace, student_id: int, teacher_id: int, why: str) -> Outcome:
    """The face no longer supports `student_id`. A mark the teacher gave by hand (the Present / Absent /
    Excused buttons) stays exactly as it is. Otherwise the record follows the photos: present while another
    face still supports it, else an automatic absent, so that a face recognised later (a photo added to
    the session) can still mark the student present. "That face isn't her" is not "she is absent".
    A student without a record keeps having none, and the record of a student removed from the course stays
    exactly as recorded (the review page and the reports keep it): only the face changes. Recognition may
    still be running on the session's first photos; its merge then writes the record from the faces as they are."""
    session_id = face.photo.session_id
    face.student_id = None
    if face.candidate_student_id is None:
        face.candidate_student_id = student_id
    remove_from_gallery(db, face)
    name = _student_name(db, student_id)
    found = db.scalar(_record_stmt(session_id, student_id))
    if found is None:
        return Outcome(f"Noted: that face is not {name} ({name} has no mark in this session yet).")
    record, previous = found, found.status
    if not is_enrolled(db, face.photo.session.course_id, student_id):
        # Removed from the course since: their mark is history, kept as recorded here and in the reports.
        _write(db, record, previous, previous, teacher_id, f"{why}; {name} has left the course", make_manual=False)
        return Outcome(f"{name} is no longer in this course; their mark stays {previous.value} as recorded.", record)
    others = supporting_faces(db, session_id, student_id, excluding=face.id)
    by_hand = record.source == RecordSource.MANUAL and record.detected_face_id is None
    if by_hand:
        _write(db, record, previous, previous, teacher_id, why, make_manual=False)
        return Outcome(f"{name} stays {previous.value} (marked by hand).", record)
    best = others[0] if others else None
    if best is None:
        # No face of them is left: back to what recognition alone says (absent), automatic again.
        record.detected_face_id = None
        record.similarity = None
        record.source = RecordSource.AUTO
        note = f"{why}; no other face of {name}"
        _write(db, record, previous, AttendanceStatus.ABSENT, teacher_id, note, make_manual=False)
        if previous == AttendanceStatus.PRESENT:
            return Outcome(f"{name} is no longer marked present.", record)
        return Outcome(f"{name} stays absent.", record)
    if previous == AttendanceStatus.PRESENT:
        record.detected_face_id, record.similarity = best.id, best.similarity
        # The mark still comes from the photos (another face): only the history notes this.
        _write(db, record, previous, previous, teacher_id, f"{why}; still present from another face", make_manual=False)
        return Outcome(f"{name} stays present (another face supports it).", record)
    _write(db, record, previous, previous, teacher_id, why, make_manual=False)
    return Outcome(f"{name} stays {previous.value}.", record)


def confirm_face(db: Session, face: DetectedFace, teacher_id: int) -> Outcome:
    """Yes, this is the suggested student: they become present and the face joins their gallery."""
    if face.review == FaceReview.CONFIRMED and face.student_id is not None:
        return Outcome(f"{_student_name(db, face.student_id)} was already confirmed.")
    if face.decision != FaceDecision.CONFIRM or face.candidate_student_id is None or face.student_id is not None:
        raise ReviewRefused("This face is not waiting for a confirmation.")
    student_id = face.candidate_student_id
    if not is_enrolled(db, face.photo.session.course_id, student_id):
        raise ReviewRefused(f"{_student_name(db, student_id)} is no longer in this course; assign the face instead.")
    face.student_id = student_id
    face.review = FaceReview.CONFIRMED
    record, previous = _record_for(db, face.photo.session_id, student_id)
    record.detected_face_id, record.similarity = face.id, face.similarity
    _write(db, record, previous, AttendanceStatus.PRESENT, teacher_id, f"Confirmed {face_label(face)}")
    add_to_gallery(db, face, student_id)
    return Outcome(f"{_student_name(db, student_id)} is confirmed present.", record)


def reject_face(db: Session, face: DetectedFace, teacher_id: int) -> Outcome:
    """No, this is not the matched (or suggested) student."""
    if face.review == FaceReview.REJECTED:
        return Outcome("That match was already rejected.")
    if face.student_id is not None:
        student_id = face.student_id
        face.review = FaceReview.REJECTED
        return _detach(db, face, student_id, teacher_id, f"Rejected {face_label(face)}")
    if face.candidate_student_id is None:
        raise ReviewRefused("This face is not matched to anyone; assign it to a student instead.")
    face.review = FaceReview.REJECTED
    name = _student_name(db, face.candidate_student_id)
    record = db.scalar(_record_stmt(face.photo.session_id, face.candidate_student_id))
    if record is not None:  # history only: the student was never present because of this face
        note = f"Rejected {face_label(face)} (not {name})"
        _write(db, record, record.status, record.status, teacher_id, note, make_manual=False)
    return Outcome(f"Noted: that face is not {name}.", record)


def assign_face(db: Session, face: DetectedFace, student_id: int, teacher_id: int) -> Outcome:
    """This face is `student_id`: they become present and the face joins their gallery."""
    session = face.photo.session
    if not is_enrolled(db, session.course_id, student_id):
        raise ReviewRefused("That student is not in this course.")
    name = _student_name(db, student_id)
    if face.student_id == student_id and face.review in (FaceReview.ASSIGNED, FaceReview.CONFIRMED):
        return Outcome(f"That face was already assigned to {name}.")
    if face.student_id is not None and face.student_id != student_id:
        _detach(db, face, face.student_id, teacher_id, f"{face_label(face)} reassigned to {name}")
    face.student_id = student_id
    face.review = FaceReview.ASSIGNED
    record, previous = _record_for(db, session.id, student_id)
    record.detected_face_id = face.id
    record.similarity = face.similarity if face.candidate_student_id == student_id else None
    _write(db, record, previous, AttendanceStatus.PRESENT, teacher_id, f"Assigned {face_label(face)}")
    learned = add_to_gallery(db, face, student_id)
    suffix = "; this face now also helps recognise them" if learned else " (this face was too small to learn from)"
    return Outcome(f"{name} is marked present{suffix}.", record)
