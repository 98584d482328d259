"""Celery tasks: thin wrappers that pass ids, record job state, and retry only what can recover.

acks_late + reject_on_worker_lost (shared config) mean a task whose worker dies is delivered again;
every task is idempotent, and a job already finished is left as it is.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from attendance_shared.contracts import (
    ATTENDANCE_TASK,
    ENROLLMENT_ACCEPTED,
    ENROLLMENT_TASK,
    PORTRAIT_HASH_TASK,
    REEMBED_TASK,
    RETENTION_TASK,
    SWEEP_TASK,
)
from attendance_shared.db import session_scope
from attendance_shared.models import JobOutcome, PhotoStatus, StudentPhoto
from attendance_shared.settings import get_settings
from attendance_shared.storage import StorageError, make_store

from . import job_state, maintenance, portrait_hashes, reembed
from .classroom_photos import process_session
from .engine import ModelPackError, get_engine
from .enrollment import enroll_photo

log = logging.getLogger(__name__)

RETRYABLE = (StorageError, OperationalError, ConnectionError, TimeoutError)


class JobTask(Task):  # type: ignore[misc]
    """Marks the job failed, in words, once retries are spent or the error cannot be retried."""

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        job_id = kwargs.get("job_id") or task_id
        if isinstance(exc, SoftTimeLimitExceeded):
            message = "This took too long and was stopped. Try fewer or smaller photos."
        elif isinstance(exc, StorageError):
            message = f"The photo store did not answer after several tries: {exc}"
        elif isinstance(exc, ModelPackError):
            message = f"The recognition models are not installed correctly: {exc}"
        else:
            message = f"Recognition failed unexpectedly ({type(exc).__name__}). The administrator has the details."
        log.error("job %s failed: %s", job_id, exc, exc_info=exc)
        try:
            job_state.fail(job_id, message)
        except Exception:  # the DB itself is down; the sweeper will find the job past its deadline
            log.exception("could not record the failure of job %s", job_id)


_RETRY = {
    "base": JobTask,
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": RETRYABLE,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": get_settings().task_max_retries,
}


def _enrollment_verdict(photo: StudentPhoto | None) -> tuple[str, JobOutcome]:
    """The job's message (what the teacher reads: the refusal's sentence when refused) and its outcome."""
    if photo is None:
        return "The photo was deleted before it could be checked.", JobOutcome.GONE
    if photo.status == PhotoStatus.ACCEPTED:
        return ENROLLMENT_ACCEPTED, JobOutcome.ACCEPTED
    return photo.reason or "Refused", JobOutcome.REFUSED


@shared_task(name=ENROLLMENT_TASK, **_RETRY)
def enroll_photo_task(self: Task, job_id: str, photo_id: int) -> None:
    if job_state.begin(job_id) is None:
        return
    settings = get_settings()
    with session_scope(settings.sqlalchemy_url) as session:
        photo = enroll_photo(session, make_store(settings), get_engine(), photo_id)
        message, outcome = _enrollment_verdict(photo)
    job_state.finish(job_id, message, outcome)


@shared_task(name=ATTENDANCE_TASK, **_RETRY)
def process_session_task(self: Task, job_id: str, session_id: int) -> None:
    if job_state.begin(job_id) is None:
        return
    settings = get_settings()

    def report(percent: int, message: str) -> None:
        job_state.progress(job_id, percent, message)

    with session_scope(settings.sqlalchemy_url) as session:
        processed = process_session(session, make_store(settings), get_engine(), session_id, report, job_id)
    if processed is None:
        job_state.finish(job_id, "The session was deleted before it could be processed.", JobOutcome.GONE)
    else:
        job_state.finish(job_id, processed.summary(), JobOutcome.DONE)


@shared_task(name=SWEEP_TASK, acks_late=True, ignore_result=True)
def sweep_stuck_jobs() -> int:
    return maintenance.sweep_stuck_jobs()


@shared_task(name=RETENTION_TASK, acks_late=True, ignore_result=True)
def purge_old_photos() -> int:
    return maintenance.purge_old_photos()


@shared_task(name=REEMBED_TASK, acks_late=True, ignore_result=True)
def reembed_stale_portraits() -> int:
    return reembed.reembed_stale(get_engine())


@shared_task(name=PORTRAIT_HASH_TASK, acks_late=True, ignore_result=True)
def hash_old_portraits() -> int:
    return portrait_hashes.backfill_portrait_hashes()
