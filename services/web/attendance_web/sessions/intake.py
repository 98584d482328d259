"""Storing a batch of classroom photos in a session and starting recognition, for HTML and XHR alike.

Like take_attendance.submit_session_photos (the API's path, whose session lookup and refusal codes
are reused here), plus `hold`: the browser splits many photos over several requests (each under
the upload limit) and only the last one starts recognition, so one job covers them all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from attendance_shared.models import AttendanceSession, Job, JobKind, SessionPhoto, SessionPhotoStatus
from attendance_shared.storage import StorageError, classroom_photo_key

from ..extensions import db, store
from ..jobs_service import new_job, publish
from ..photos import remove_photos
from ..take_attendance import IMAGE_REJECTED, UploadProblem, get_or_create_session
from ..uploads import CheckedUpload, check_uploads, display_name


class StoreUnavailable(RuntimeError):
    """The photo store did not answer; nothing of this batch was kept."""


@dataclass
class Intake:
    session: AttendanceSession
    job: Job | None = None
    published: bool = True
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def check_each(files: list[FileStorage]) -> tuple[list[CheckedUpload], list[UploadProblem]]:
    """Like check_uploads, but every refusal stays tied to its file, so it can be shown next to it."""
    good: list[CheckedUpload] = []
    refused: list[UploadProblem] = []
    for upload in files:
        if not upload or not upload.filename:
            continue
        ok, errors = check_uploads([upload])
        good.extend(ok)
        refused.extend(UploadProblem(IMAGE_REJECTED, display_name(upload), message) for message in errors)
    return good, refused


def store_photos(
    teacher_id: int, course_id: int, date: dt.date, label: str, photos: list[CheckedUpload], *, hold: bool = False
) -> Intake:
    """Store the photos, create the job row, COMMIT, then publish. `hold` stores without a job.

    Raises StoreUnavailable (nothing kept). A photo already in the session is reported, not added twice.
    """
    session = get_or_create_session(course_id, date, label)
    db().flush()
    intake = Intake(session=session)
    known = set(db().scalars(select(SessionPhoto.content_sha256).where(SessionPhoto.session_id == session.id)))
    stored: list[str] = []
    try:
        for upload in photos:
            if upload.sha256 in known:
                intake.duplicates.append(upload.filename)
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
            intake.added.append(upload.filename)
        if not hold:
            intake.job = new_job(teacher_id, JobKind.ATTENDANCE, session.id)
        db().commit()
    except StorageError:
        db().rollback()
        remove_photos(stored)
        message = "The photo store is not answering; nothing was saved. Please try again in a minute."
        raise StoreUnavailable(message) from None
    except IntegrityError:
        # The same photo arrived in a concurrent request: that request stored it; drop our copies.
        db().rollback()
        remove_photos(stored)
        intake.duplicates.extend(intake.added)
        intake.added = []
        intake.job = None
        return intake
    if intake.job is not None:
        intake.published = publish(intake.job)
    return intake


def start_recognition(teacher_id: int, session: AttendanceSession) -> tuple[Job, bool]:
    """Queue every stored photo of the session again and start one job (rerun, or after held batches)."""
    for photo in session.photos:
        if photo.storage_key:
            photo.status = SessionPhotoStatus.QUEUED
            photo.error = None
    job = new_job(teacher_id, JobKind.ATTENDANCE, session.id)
    db().commit()
    return job, publish(job)
