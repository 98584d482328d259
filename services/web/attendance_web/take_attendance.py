"""Taking attendance from classroom photos: the one path shared by the web pages and the JSON API.

Checked by content, stored under a key the code makes, one SessionPhoto per distinct photo (the
UNIQUE (session, sha256) constraint decides races), the job created and committed before anything
is published. `hold` lets the browser split many photos over several requests (each under the upload
limit) so that only the last one starts recognition and one job covers them all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from attendance_shared.models import AttendanceSession, Job, JobKind, SessionPhoto, SessionPhotoStatus
from attendance_shared.storage import StorageError, classroom_photo_key

from .extensions import db, store
from .jobs_service import new_job, publish
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


class StoreUnavailable(RuntimeError):
    """The photo store did not answer; nothing of this batch was kept (rows rolled back, files removed)."""


@dataclass
class Intake:
    """What one request did: the session, the job (None when held or nothing new), and per-file outcomes."""

    session: AttendanceSession
    job: Job | None = None
    published: bool = True
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    raced: bool = False

    def duplicate_problems(self) -> list[UploadProblem]:
        return [
            UploadProblem(
                DUPLICATE_PHOTO, name, f"{name} was already uploaded to this session; it was not added twice."
            )
            for name in self.duplicates
        ]


def get_or_create_session(course_id: int, date: dt.date, label: str) -> tuple[AttendanceSession, bool]:
    """One session per (course, date, label), even when two requests race (the UNIQUE constraint decides).
    The flag says whether this request created it (then it has no photos yet)."""
    stmt = select(AttendanceSession).where(
        AttendanceSession.course_id == course_id,
        AttendanceSession.date == date,
        AttendanceSession.label == label,
    )
    existing = db().scalar(stmt)
    if existing:
        return existing, False
    if db().get_bind().dialect.name == "postgresql":
        # One round trip instead of SAVEPOINT, INSERT, RELEASE; a concurrent insert waits on the index, then
        # this one does nothing and the SELECT finds the other request's session.
        created = db().scalar(
            pg_insert(AttendanceSession)
            .values(course_id=course_id, date=date, label=label)
            .on_conflict_do_nothing(index_elements=["course_id", "date", "label"])
            .returning(AttendanceSession)
        )
        if created is not None:
            return created, True
        found = db().scalar(stmt)
        if found is None:  # pragma: no cover - the conflict said it exists
            raise RuntimeError("attendance session vanished during get_or_create_session")
        return found, False
    session = AttendanceSession(course_id=course_id, date=date, label=label)
    try:
        with db().begin_nested():
            db().add(session)
    except IntegrityError:
        found = db().scalar(stmt)
        if found is None:  # pragma: no cover - the constraint said it exists
            raise
        return found, False
    return session, True


def check_each(files: list[FileStorage]) -> tuple[list[CheckedUpload], list[UploadProblem]]:
    """check_uploads per file, so every refusal stays tied to the file it is about."""
    good: list[CheckedUpload] = []
    refused: list[UploadProblem] = []
    for upload in files:
        if not upload or not upload.filename:
            continue
        ok, errors = check_uploads([upload])
        good.extend(ok)
        refused.extend(UploadProblem(IMAGE_REJECTED, display_name(upload), message) for message in errors)
    return good, refused


def _waiting_photos(session_id: int) -> bool:
    return bool(
        db().scalar(
            select(
                exists().where(SessionPhoto.session_id == session_id, SessionPhoto.status == SessionPhotoStatus.QUEUED)
            )
        )
    )


def store_photos(
    teacher_id: int, course_id: int, date: dt.date, label: str, photos: list[CheckedUpload], *, hold: bool = False
) -> Intake:
    """Store the photos, create the job row, COMMIT, then publish. `hold` stores without a job; a request
    that adds nothing new (and leaves nothing waiting) starts no job either.

    Raises StoreUnavailable (nothing kept). A photo already in the session is reported, not added twice.
    """
    session, created = get_or_create_session(course_id, date, label.strip())
    db().flush()
    intake = Intake(session=session)
    known: set[str] = set()
    if not created:  # a session this request just created has no photos: one round trip fewer
        known.update(db().scalars(select(SessionPhoto.content_sha256).where(SessionPhoto.session_id == session.id)))
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
        db().flush()
        if not hold and (intake.added or _waiting_photos(session.id)):
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
        intake.raced = True
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
