"""Taking back a session or one of its photos: what goes, said in words first, then removed.

A deleted session takes its photos, faces, annotated images, records and history with it, and the faces its photos
taught the students' galleries (their photo is gone); reports stop counting it because its records are gone. A
removed photo takes its faces; the session's attendance is then merged again from the photos that remain
(records.merge_records: automatic records follow the faces, the teacher's marks stay), and each mark that changes
is written to the history. Stored files are deleted by the caller after the commit (UnitOfWork.remove_after_commit).

Nothing here commits: the caller commits once, so a removal is all-or-nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    DetectedFace,
    FaceEmbedding,
    Job,
    JobKind,
    RecordSource,
    SessionPhoto,
)
from attendance_shared.records import (
    PHOTOS_IN_RECOGNITION,
    is_enrolled,
    merge_records,
    recorded_before,
    supporting_faces,
    write_change,
)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def in_recognition(session: AttendanceSession) -> bool:
    """Recognition is still writing this session's faces and records: nothing is removed under its feet."""
    return any(p.status in PHOTOS_IN_RECOGNITION for p in session.photos)


@dataclass(frozen=True)
class Contents:
    """What a removal takes away, counted, and the stored files to delete after the commit."""

    photos: int
    faces: int
    marks: int  # students with a record in the session (removing a session) or whose mark stands on it (a photo)
    learned: int  # faces that joined a student's gallery
    keys: list[str | None] = field(default_factory=list)


def _face_ids(db: Session, photo_ids: list[int]) -> list[int]:
    if not photo_ids:
        return []
    return list(db.scalars(select(DetectedFace.id).where(DetectedFace.session_photo_id.in_(photo_ids))))


def _learned(db: Session, face_ids: list[int]) -> int:
    if not face_ids:
        return 0
    stmt = select(func.count()).select_from(FaceEmbedding).where(FaceEmbedding.detected_face_id.in_(face_ids))
    return int(db.scalar(stmt) or 0)


def session_contents(db: Session, session: AttendanceSession) -> Contents:
    photos = list(session.photos)
    face_ids = _face_ids(db, [p.id for p in photos])
    marks = db.scalar(
        select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.session_id == session.id)
    )
    keys = [k for p in photos for k in (p.storage_key, p.annotated_key)]
    return Contents(len(photos), len(face_ids), int(marks or 0), _learned(db, face_ids), keys)


def what_goes(contents: Contents) -> str:
    """'2 photos, 14 faces and the marks of 28 students'"""
    parts = [plural(contents.photos, "photo"), plural(contents.faces, "face")]
    marks = f"the marks of {plural(contents.marks, 'student')}" if contents.marks else "no marks"
    return f"{', '.join(parts)} and {marks}"


def session_sentence(session: AttendanceSession, contents: Contents) -> str:
    """'This deletes the session of 2026-11-24 · Period 1: 2 photos, 14 faces and the marks of 28 students.'"""
    return f"This deletes the session of {session.title}: {what_goes(contents)}."


def learned_sentence(contents: Contents) -> str | None:
    if not contents.learned:
        return None
    faces = "1 face" if contents.learned == 1 else f"{contents.learned} faces"
    verb = "was" if contents.learned == 1 else "were"
    return f"{faces} that {verb} learned from these photos will no longer help recognise the students."


def delete_session(db: Session, session: AttendanceSession) -> Contents:
    """Delete the session and everything of it; returns what went (its files still to delete after the commit)."""
    contents = session_contents(db, session)
    face_ids = _face_ids(db, [p.id for p in session.photos])
    if face_ids:
        db.execute(delete(FaceEmbedding).where(FaceEmbedding.detected_face_id.in_(face_ids)))
    # Its jobs would point the teacher's job list at a session that is gone. (Older ones are another session's that
    # had the same id: SQLite may reuse the id of a deleted last row.)
    db.execute(
        delete(Job).where(
            Job.kind == JobKind.ATTENDANCE,
            Job.subject_id == session.id,
            Job.created_at >= session.created_at,
        )
    )
    db.delete(session)  # photos, faces and records by cascade; the records' history by the database's
    db.flush()
    return contents


# --- one photo ------------------------------------------------------------------------------------


def photo_contents(db: Session, photo: SessionPhoto) -> Contents:
    face_ids = _face_ids(db, [photo.id])
    marks = 0
    if face_ids:
        stmt = select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.detected_face_id.in_(face_ids))
        marks = int(db.scalar(stmt) or 0)
    return Contents(1, len(face_ids), marks, _learned(db, face_ids), [photo.storage_key, photo.annotated_key])


def photo_sentence(photo: SessionPhoto, contents: Contents) -> str:
    """What removing the photo does, before the teacher confirms."""
    sentence = f"This removes {photo.original_filename} and its {plural(contents.faces, 'face')} from the session."
    if contents.marks:
        sentence += (
            f" The {plural(contents.marks, 'mark')} found on it will be decided again from the photos that remain."
        )
    return sentence + " Marks you made by hand stay as they are."


@dataclass(frozen=True)
class MarkChange:
    name: str
    before: AttendanceStatus
    after: AttendanceStatus


def _release_faces(db: Session, session: AttendanceSession, face_ids: list[int]) -> list[AttendanceRecord]:
    """Records standing on a face that goes: one the teacher gave by confirming or assigning a face moves to another
    face of the student that remains, or, with none left, becomes automatic again (the photos decide). Returns the
    records left without a face."""
    released = []
    stmt = select(AttendanceRecord).where(AttendanceRecord.detected_face_id.in_(face_ids))
    for record in db.scalars(stmt).all():
        others = [f for f in supporting_faces(db, session.id, record.student_id) if f.id not in face_ids]
        if record.source == RecordSource.MANUAL and others:
            record.detected_face_id, record.similarity = others[0].id, others[0].similarity
            continue
        record.detected_face_id, record.similarity = None, None
        if is_enrolled(db, session.course_id, record.student_id):  # one who left keeps their mark as recorded
            record.source = RecordSource.AUTO
            released.append(record)
    return released


def remove_photo(db: Session, photo: SessionPhoto, teacher_id: int) -> tuple[Contents, list[MarkChange]]:
    """Remove the photo and its faces, merge the session's attendance again from the photos that remain, and write
    each mark that changed to the history."""
    session = photo.session
    contents = photo_contents(db, photo)
    face_ids = _face_ids(db, [photo.id])
    before = {r.id: r.status for r in session.records}
    released = _release_faces(db, session, face_ids) if face_ids else []
    if face_ids:
        db.execute(delete(FaceEmbedding).where(FaceEmbedding.detected_face_id.in_(face_ids)))
    name = photo.original_filename
    db.delete(photo)
    db.flush()
    db.expire(session, ["photos"])
    if recorded_before(db, session):
        merge_records(db, session)
    else:  # no run has recorded the session yet: a record left without a face is what the first run would say
        for record in released:
            record.status = AttendanceStatus.ABSENT
    db.flush()
    changes = []
    stmt = (
        select(AttendanceRecord)
        .where(AttendanceRecord.session_id == session.id)
        .execution_options(populate_existing=True)
    )
    for record in db.scalars(stmt):
        previous = before.get(record.id)
        if previous is not None and previous != record.status:
            note = f"{name} removed from the session"
            write_change(db, record, previous, record.status, teacher_id, note, make_manual=False)
            changes.append(MarkChange(record.student.name, previous, record.status))
    return contents, sorted(changes, key=lambda c: c.name)
