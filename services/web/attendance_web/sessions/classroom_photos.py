"""Taking attendance from classroom photos: the one path shared by the web pages and the JSON API.

Checked by content, stored under a key the code makes, one SessionPhoto per distinct photo (the
UNIQUE (session, sha256) constraint decides races), the job created and committed before anything
is published. `hold` lets the browser split many photos over several requests (each under the upload
limit) so that only the last one starts recognition and one job covers them all.

Taking attendance always makes a new session (new_session), even on a day that already has one with
the same label: two lessons must never merge silently into one list (only the very same photos sent
again are answered with the session that holds them). Adding photos to an existing session names that
session by id (the later batches of a split upload, "Add more photos").
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from attendance_shared.models import AttendanceSession, Job, JobKind, SessionPhoto, SessionPhotoStatus
from attendance_shared.storage import StorageError, classroom_photo_key

from ..direct_uploads import DirectUpload
from ..extensions import db
from ..jobs_service import UnitOfWork
from ..uploads import CheckedUpload, check_uploads, display_name

IMAGE_REJECTED = "image_rejected"
DUPLICATE_PHOTO = "duplicate_photo"


@dataclass(frozen=True)
class UploadProblem:
    """One file that was not added, with a stable code for the API and a sentence for the teacher."""

    code: str
    filename: str
    message: str


#: a photo checked by the web (posted), or one the browser put in the bucket itself (checked by the worker)
Photo = CheckedUpload | DirectUpload


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


MAX_LABEL = 80  # attendance_sessions.label is VARCHAR(80)


def _free_labels(label: str) -> Iterator[str]:
    """The label itself, then "Period 3 (2)", "Period 3 (3)"… (or "2", "3"… when there is no label)."""
    yield label
    for n in itertools.count(2):
        suffix = f" ({n})" if label else str(n)
        yield label[: MAX_LABEL - len(suffix)].rstrip() + suffix


def _insert_session(course_id: int, date: dt.date, label: str) -> AttendanceSession | None:
    """The new session, or None when (course, date, label) is taken (the UNIQUE constraint decides races)."""
    if db().get_bind().dialect.name == "postgresql":
        # One round trip instead of SAVEPOINT, INSERT, RELEASE; a concurrent insert waits on the index.
        return db().scalar(
            pg_insert(AttendanceSession)
            .values(course_id=course_id, date=date, label=label)
            .on_conflict_do_nothing(index_elements=["course_id", "date", "label"])
            .returning(AttendanceSession)
        )
    session = AttendanceSession(course_id=course_id, date=date, label=label)
    try:
        with db().begin_nested():
            db().add(session)
    except IntegrityError:
        return None
    return session


def _session_named(course_id: int, date: dt.date, label: str) -> AttendanceSession | None:
    return db().scalar(
        select(AttendanceSession).where(
            AttendanceSession.course_id == course_id, AttendanceSession.date == date, AttendanceSession.label == label
        )
    )


def _same_upload(course_id: int, date: dt.date, label: str, hashes: set[str]) -> AttendanceSession | None:
    """The session with this date and label if it already holds every one of these photos."""
    session = _session_named(course_id, date, label)
    if session is None:
        return None
    stored = set(
        db().scalars(
            select(SessionPhoto.content_sha256).where(
                SessionPhoto.session_id == session.id, SessionPhoto.content_sha256.in_(hashes)
            )
        )
    )
    return session if stored >= hashes else None


def new_session(course_id: int, date: dt.date, label: str, photos: Sequence[Photo]) -> tuple[AttendanceSession, bool]:
    """A new session for this upload: taking attendance twice on one day must give two lists, never one
    merged list. When the date and label are taken, the next free label is used (see label_notice).

    The flag says whether the session is new. It is False only for the same upload sent again (a double
    click, a browser retry): when the session with that date and label already holds every one of these
    photos, that session is answered (the photos reported as duplicates) instead of making a copy.
    """
    label = label.strip()
    hashes = {p.sha256 for p in photos}
    taken = set(
        db().scalars(
            select(AttendanceSession.label).where(
                AttendanceSession.course_id == course_id, AttendanceSession.date == date
            )
        )
    )
    for candidate in _free_labels(label):
        if candidate not in taken:
            created = _insert_session(course_id, date, candidate)
            if created is not None:
                return created, True
            # Another request took this label a moment ago (the insert waited for it to commit).
        same = _same_upload(course_id, date, candidate, hashes)
        if same is not None:
            return same, False
    raise AssertionError("unreachable: _free_labels never ends")  # pragma: no cover


def session_for(course_id: int, date: dt.date, label: str) -> tuple[AttendanceSession, bool]:
    """The API's rule (v1, unchanged): the session with this date and label, made when missing; a script that
    splits one lesson's photos over several requests names it the same way each time. The flag says whether
    this request made it. Two requests at once: the UNIQUE constraint decides, the loser finds the winner's."""
    label = label.strip()
    for _ in range(2):
        existing = _session_named(course_id, date, label)
        if existing is not None:
            return existing, False
        created = _insert_session(course_id, date, label)
        if created is not None:
            return created, True
    raise RuntimeError("attendance session vanished during session_for")  # pragma: no cover


def label_notice(session: AttendanceSession, requested: str) -> str | None:
    """What to tell the teacher when new_session had to choose another label; None when it did not."""
    requested = requested.strip()
    if session.label == requested:
        return None
    which = f'labelled "{requested}"' if requested else "without a label"
    day = session.date.isoformat()
    return f'A session on {day} {which} already existed, so this one was saved as "{session.label}".'


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
    teacher_id: int,
    session: AttendanceSession,
    photos: Sequence[Photo],
    *,
    hold: bool = False,
    fresh: bool = False,
) -> Intake:
    """Store the photos in `session` (from new_session, `fresh`, or the one the teacher chose to add to),
    create the job row, COMMIT, then publish. `hold` stores without a job; a request that adds nothing
    new (and leaves nothing waiting) starts no job either.

    Raises StoreUnavailable (nothing kept, a fresh session included). A photo already in the session is
    reported, not added twice.
    """
    db().flush()
    intake = Intake(session=session)
    known: set[str] = set()
    if not fresh:  # a session this request just created has no photos: one round trip fewer
        known.update(db().scalars(select(SessionPhoto.content_sha256).where(SessionPhoto.session_id == session.id)))
    try:
        with UnitOfWork(teacher_id) as work:
            for upload in photos:
                if upload.sha256 in known:
                    intake.duplicates.append(upload.filename)
                    if isinstance(upload, DirectUpload):  # its object is not needed: gone once this commits
                        work.remove_after_commit(upload.key)
                    continue
                known.add(upload.sha256)
                if isinstance(upload, DirectUpload):
                    # Already in the bucket under temp/: the worker checks it by content, then moves it to its key
                    # (its size is known once it has: 0 x 0 until then).
                    work.adopt(upload.key)
                    key, content_type, width, height = upload.key, upload.content_type, 0, 0
                else:
                    key = classroom_photo_key(teacher_id, session.id, upload.info.extension)
                    work.put(key, upload.data, upload.info.mime)
                    content_type, width, height = upload.info.mime, upload.info.width, upload.info.height
                db().add(
                    SessionPhoto(
                        session_id=session.id,
                        storage_key=key,
                        original_filename=upload.filename,
                        content_type=content_type,
                        content_sha256=upload.sha256,
                        width=width,
                        height=height,
                        status=SessionPhotoStatus.QUEUED,
                    )
                )
                intake.added.append(upload.filename)
            db().flush()
            if not hold and (intake.added or _waiting_photos(session.id)):
                intake.job = work.new_job(JobKind.ATTENDANCE, session.id)
    except StorageError:
        message = "The photo store is not answering; nothing was saved. Please try again in a minute."
        raise StoreUnavailable(message) from None
    except IntegrityError:
        # The same photo arrived in a concurrent request: that request stored it; our copies were removed.
        intake.duplicates.extend(intake.added)
        intake.added = []
        intake.job = None
        intake.raced = True
        return intake
    intake.published = work.published
    return intake


def start_recognition(teacher_id: int, session: AttendanceSession) -> tuple[Job, bool]:
    """Queue every stored photo of the session again and start one job (rerun, or after held batches)."""
    with UnitOfWork(teacher_id) as work:
        for photo in session.photos:
            if photo.storage_key:
                photo.status = SessionPhotoStatus.QUEUED
                photo.error = None
        job = work.new_job(JobKind.ATTENDANCE, session.id)
    return job, work.published
