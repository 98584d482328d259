"""A teacher's corrections to a session's attendance (the review page's actions), as plain functions.

What the teacher can do, and what each says back: mark a student present / late / absent / excused by hand, confirm a
face, reject a match, assign a face to a student. Confirming or assigning a face adds its embedding to the
student's gallery (so later sessions recognise them better); rejecting it removes that embedding again.
A "confirm" face never makes anyone present until the teacher confirms it, and rejecting one changes no attendance
(nor the history, which lists changes only). A student has at most one face per photo, as in the engine's own
assignment: a second face of the same photo is refused. The rules these actions apply to records (hand marks vs
automatic records, which faces still support a present mark, one face per photo) are attendance_shared.records.

Nothing here commits: the caller commits once, so an action is all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attendance_shared.models import (
    AttendanceRecord,
    AttendanceStatus,
    DetectedFace,
    FaceDecision,
    FaceEmbedding,
    FaceReview,
)
from attendance_shared.records import (
    UNCONFIRMED,
    Detached,
    detach,
    face_of_student_in_photo,
    find_record,
    is_enrolled,
    record_for,
    student_name,
    waiting_for_confirmation,
    write_change,
)


class ReviewRefused(ValueError):
    """The action does not apply to this face or student; `str(exc)` is shown to the teacher."""


@dataclass(frozen=True)
class Outcome:
    """What an action did, in a sentence for the teacher; `record` is the student record it touched."""

    message: str
    record: AttendanceRecord | None = None


# --- small helpers --------------------------------------------------------------------------------


def face_label(face: DetectedFace) -> str:
    """How the teacher sees a face in messages and history: its number and its photo's file name."""
    return f"face {face.face_index + 1} in {face.photo.original_filename}"


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


# --- actions --------------------------------------------------------------------------------------


def set_status(
    db: Session, session_id: int, student_id: int, status: AttendanceStatus, teacher_id: int, note: str = ""
) -> Outcome:
    """Mark a student present / late / absent / excused by hand. The caller checked enrolment and ownership."""
    name = student_name(db, student_id)
    record, previous = record_for(db, session_id, student_id)
    if previous == status and not note.strip():  # nothing to record (a note alone is worth a history row)
        return Outcome(f"{name} was already marked {status.value}.", record)
    record.detected_face_id = None  # a mark by hand stands on its own, not on a face
    record.similarity = None
    write_change(
        db, record, previous, status, teacher_id, note.strip() or "Marked by hand", typed_note=bool(note.strip())
    )
    return Outcome(f"{name} is now marked {status.value}.", record)


def _one_face_per_photo(db: Session, face: DetectedFace, student_id: int) -> None:
    """Refused when another face of this photo already carries the student (records.face_of_student_in_photo)."""
    other = face_of_student_in_photo(db, face, student_id)
    if other is not None:
        name = student_name(db, student_id)
        raise ReviewRefused(
            f"{name} already has face {other.face_index + 1} in this photo: one student, one face per photo."
        )


def _detach(db: Session, face: DetectedFace, student_id: int, teacher_id: int, why: str) -> Outcome:
    """The face no longer supports `student_id` (the rule: records.detach), said to the teacher."""
    name = student_name(db, student_id)
    done = detach(db, face, student_id, teacher_id, why)
    status = done.status.value if done.status else ""
    message = {
        Detached.NO_RECORD: f"Noted: that face is not {name} ({name} has no mark in this session yet).",
        Detached.LEFT_COURSE: f"{name} is no longer in this course; their mark stays {status} as recorded.",
        Detached.HAND_MARK_KEPT: f"{name} stays {status} (marked by hand).",
        Detached.NO_LONGER_PRESENT: f"{name} is no longer marked present.",
        Detached.STAYS_ABSENT: f"{name} stays absent.",
        Detached.PRESENT_FROM_ANOTHER_FACE: f"{name} stays present (another face supports it).",
        Detached.UNCHANGED: f"{name} stays {status}.",
    }[done.outcome]
    return Outcome(message, done.record)


def confirm_face(db: Session, face: DetectedFace, teacher_id: int) -> Outcome:
    """Yes, this is the suggested student: they become present and the face joins their gallery."""
    if face.review == FaceReview.CONFIRMED and face.student_id is not None:
        return Outcome(f"{student_name(db, face.student_id)} was already confirmed.")
    if face.decision != FaceDecision.CONFIRM or face.candidate_student_id is None or face.student_id is not None:
        raise ReviewRefused("This face is not waiting for a confirmation.")
    student_id = face.candidate_student_id
    if not is_enrolled(db, face.photo.session.course_id, student_id):
        raise ReviewRefused(f"{student_name(db, student_id)} is no longer in this course; assign the face instead.")
    _one_face_per_photo(db, face, student_id)
    face.student_id = student_id
    face.review = FaceReview.CONFIRMED
    record, previous = record_for(db, face.photo.session_id, student_id)
    record.detected_face_id, record.similarity = face.id, face.similarity
    write_change(db, record, previous, AttendanceStatus.PRESENT, teacher_id, f"Confirmed {face_label(face)}")
    add_to_gallery(db, face, student_id)
    return Outcome(f"{student_name(db, student_id)} is confirmed present.", record)


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
    student_id, session_id = face.candidate_student_id, face.photo.session_id
    was_waiting = student_id in waiting_for_confirmation(db, session_id)
    face.review = FaceReview.REJECTED
    db.flush()
    name = student_name(db, student_id)
    # The student was never present because of this face: their record stays as it is. When it was the last face
    # of them waiting for this answer, "absent" is now the teacher's decision, and the history says so
    # (records.decision_of reads it: unconfirmed -> absent).
    record = find_record(db, session_id, student_id)
    if record is not None and was_waiting and student_id not in waiting_for_confirmation(db, session_id):
        note = f"Rejected {face_label(face)} (not {name})"
        write_change(
            db, record, record.status, record.status, teacher_id, note, make_manual=False, from_code=UNCONFIRMED
        )
    return Outcome(f"Noted: that face is not {name}.", record)


def assign_face(db: Session, face: DetectedFace, student_id: int, teacher_id: int) -> Outcome:
    """This face is `student_id`: they become present and the face joins their gallery."""
    session = face.photo.session
    if not is_enrolled(db, session.course_id, student_id):
        raise ReviewRefused("That student is not in this course.")
    name = student_name(db, student_id)
    if face.student_id == student_id and face.review in (FaceReview.ASSIGNED, FaceReview.CONFIRMED):
        return Outcome(f"That face was already assigned to {name}.")
    _one_face_per_photo(db, face, student_id)
    if face.student_id is not None and face.student_id != student_id:
        _detach(db, face, face.student_id, teacher_id, f"{face_label(face)} reassigned to {name}")
    face.student_id = student_id
    face.review = FaceReview.ASSIGNED
    record, previous = record_for(db, session.id, student_id)
    record.detected_face_id = face.id
    record.similarity = face.similarity if face.candidate_student_id == student_id else None
    write_change(db, record, previous, AttendanceStatus.PRESENT, teacher_id, f"Assigned {face_label(face)}")
    learned = add_to_gallery(db, face, student_id)
    suffix = "; this face now also helps recognise them" if learned else " (this face was too small to learn from)"
    return Outcome(f"{name} is marked present{suffix}.", record)
