"""Create a job row, commit, then enqueue: the job exists even if the broker is down for a moment."""

from __future__ import annotations

import datetime as dt
import logging

from attendance_shared.contracts import AttendancePayload, EnrollmentPayload
from attendance_shared.models import Job, JobKind, utcnow
from attendance_shared.queue import enqueue

from .extensions import celery, db, settings

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
