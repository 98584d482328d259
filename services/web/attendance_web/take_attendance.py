"""Taking attendance from classroom photos, shared by the web form and the JSON API.

Both front ends must store photos the same way: checked by content, stored under a key the code
makes, one SessionPhoto per distinct photo (the UNIQUE (session, sha256) constraint decides races),
one attendance job created and committed before anything is published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from attendance_shared.models import AttendanceSession, Course, Job, JobKind, SessionPhoto, SessionPhotoStatus
from attendance_shared.storage import StorageError, classroom_photo_key

from .extensions import db, store
from .jobs_service import new_job
from .photos import remove_photos
from .uploads import CheckedUpload, check_uploads, display_name

IMAGE_REJECTED = "image_rejected"
DUPLICATE_PHOTO = "duplicate_photo"


@dataclass(frozen=True)
class UploadProblem:
    """One file that was not added, with a stable code for the API and a sentence for the teacher."""

    code: str
    filename: str
    message: str


class Submission(NamedTuple):
    """What happened: the session (None when no photo was usable), the job to publish, per-file problems."""

    session: AttendanceSession | None
    job: Job | None
    errors: list[UploadProblem]


class PhotoStoreUnavailable(RuntimeError):
    """The photo store failed; nothing was saved (rows rolled back, stored files removed)."""


def get_or_create_session(course_id: int, date: dt.date, label: str) -> AttendanceSession:
    """One session per (course, date, label), even when two requests race (the UNIQUE constraint decides)."""
    stmt = select(AttendanceSession).where(
        AttendanceSession.course_id == course_id,
        AttendanceSession.date == date,
        AttendanceSession.label == label,
    )
    existing = db().scalar(stmt)
    if existing:
        return existing
    session = AttendanceSession(course_id=course_id, date=date, label=label)
    try:
        with db().begin_nested():
            db().add(session)
    except IntegrityError:
        found = db().scalar(stmt)
        assert found is not None
        return found
    return session


def _check_each(uploads: list[FileStorage]) -> tuple[list[CheckedUpload], list[UploadProblem]]:
    """check_uploads per file, so each refusal keeps the name of the file it is about."""
    good: list[CheckedUpload] = []
    problems: list[UploadProblem] = []
    for upload in uploads:
        ok, errors = check_uploads([upload])
        good.extend(ok)
        problems.extend(UploadProblem(IMAGE_REJECTED, display_name(upload), message) for message in errors)
    return good, problems


def _store_new_photos(
    session: AttendanceSession, teacher_id: int, good: list[CheckedUpload]
) -> tuple[list[str], list[UploadProblem]]:
    """Store each photo not already in the session; returns the stored keys and the skipped duplicates."""
    known = set(db().scalars(select(SessionPhoto.content_sha256).where(SessionPhoto.session_id == session.id)))
    stored: list[str] = []
    skipped: list[UploadProblem] = []
    for upload in good:
        if upload.sha256 in known:
            message = f"{upload.filename} was already uploaded to this session; it was not added twice."
            skipped.append(UploadProblem(DUPLICATE_PHOTO, upload.filename, message))
            continue
        known.add(upload.sha256)
        key = classroom_photo_key(teacher_id, session.id, upload.info.extension)
        store().put(key, upload.data, upload.info.mime)
        stored.append(key)
        db().add(
            SessionPhoto(
                session_id=session.id,
                storage_key=key,
                original_filename=upload.filename,
                content_type=upload.info.mime,
                content_sha256=upload.sha256,
                width=upload.info.width,
                height=upload.info.height,
                status=SessionPhotoStatus.QUEUED,
            )
        )
    return stored, skipped


def submit_session_photos(course: Course, date: dt.date, label: str, uploads: list[FileStorage]) -> Submission:
    """Check, store and commit classroom photos with a new attendance job; the caller publishes the job.

    Raises PhotoStoreUnavailable when the store fails (nothing is left half-saved). When a concurrent
    request stored the same photos first, the job is None and each photo is reported as a duplicate.
    """
    label = label.strip()
    good, problems = _check_each([u for u in uploads if u and u.filename])
    if not good:
        return Submission(None, None, problems)
    session = get_or_create_session(course.id, date, label)
    db().flush()
    session_id = session.id
    stored: list[str] = []
    try:
        stored, skipped = _store_new_photos(session, course.teacher_id, good)
        job = new_job(course.teacher_id, JobKind.ATTENDANCE, session.id)
        db().commit()
    except StorageError as exc:
        db().rollback()
        remove_photos(stored)
        raise PhotoStoreUnavailable("The photo store is not answering; nothing was saved.") from exc
    except IntegrityError:
        # The same photo arrived in a concurrent request: that request stored it; drop our copies.
        db().rollback()
        remove_photos(stored)
        message = "This photo was already uploaded to this session."
        problems.extend(UploadProblem(DUPLICATE_PHOTO, u.filename, message) for u in good)
        return Submission(db().get(AttendanceSession, session_id), None, problems)
    return Submission(session, job, problems + skipped)
