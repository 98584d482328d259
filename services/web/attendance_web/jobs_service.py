"""Store files, add rows, create jobs, commit, then publish: the one way a request starts background work.

The job row is committed before its message is sent, so the job exists even if the broker is down for
a moment (the sweeper re-sends it). Storage is not transactional, so every file stored for a commit
that does not happen is deleted again.
"""

from __future__ import annotations

import datetime as dt
import logging
from types import TracebackType

from attendance_shared.contracts import AttendancePayload, EnrollmentPayload
from attendance_shared.models import Job, JobKind, utcnow
from attendance_shared.queue import enqueue

from .extensions import celery, db, settings, store
from .photos import remove_photos

log = logging.getLogger(__name__)


def new_job(teacher_id: int, kind: JobKind, subject_id: int) -> Job:
    job = Job(teacher_id=teacher_id, kind=kind, subject_id=subject_id, progress=0)
    job.deadline = utcnow() + dt.timedelta(seconds=settings().task_time_limit * 2 + 120)
    db().add(job)
    return job


def publish(job: Job) -> bool:
    """Enqueue a committed job. False when the broker is unreachable; the sweeper retries it later."""
    payload: AttendancePayload | EnrollmentPayload
    if job.kind == JobKind.ATTENDANCE:
        payload = AttendancePayload(job_id=job.id, session_id=job.subject_id)
    else:
        payload = EnrollmentPayload(job_id=job.id, photo_id=job.subject_id)
    try:
        enqueue(celery(), settings(), payload)
    except Exception:  # the broker is down: the job row stays "queued" and the sweeper re-sends it
        log.warning("could not enqueue job %s; it stays queued for the sweeper", job.id, exc_info=True)
        return False
    return True


class UnitOfWork:
    """One request's files, rows and jobs, kept all together or not at all.

    Inside `with UnitOfWork(teacher_id) as work:` store files with `work.put` and create jobs with
    `work.new_job` beside the rows the caller adds to db(). Leaving the block commits, deletes the
    files `work.remove_after_commit` named, then publishes the jobs (`work.published` says whether the
    broker took them all). An error in the block or in the commit rolls the rows back, deletes the files
    stored so far and is raised again.
    """

    def __init__(self, teacher_id: int) -> None:
        self.teacher_id = teacher_id
        self.stored: list[str] = []
        self.jobs: list[Job] = []
        self.obsolete: list[str | None] = []
        self.published = True

    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store a file that the commit makes part of the data (deleted again if it does not happen)."""
        store().put(key, data, content_type)
        self.stored.append(key)

    def adopt(self, key: str) -> None:
        """A file already in the store (a direct upload) that the commit makes part of the data: deleted again,
        like a stored one, if the commit does not happen."""
        self.stored.append(key)

    def new_job(self, kind: JobKind, subject_id: int) -> Job:
        """A job row in this transaction, published once it is committed."""
        return self.add_job(new_job(self.teacher_id, kind, subject_id))

    def add_job(self, job: Job) -> Job:
        """Publish after the commit a job row added to the session elsewhere (new_job)."""
        self.jobs.append(job)
        return job

    def remove_after_commit(self, key: str | None) -> None:
        """A stored file the commit stops referring to: deleted once the commit has happened."""
        self.obsolete.append(key)

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            try:
                db().commit()
            except BaseException:
                self._undo()
                raise
            if self.obsolete:
                remove_photos(self.obsolete)
            self.published = all([publish(job) for job in self.jobs])
        else:
            self._undo()

    def _undo(self) -> None:
        db().rollback()
        if self.stored:
            remove_photos(self.stored)
        self.stored = []
        self.jobs = []
