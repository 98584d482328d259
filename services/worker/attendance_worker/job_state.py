"""The jobs table is the source of truth for progress; every write is its own short transaction."""

from __future__ import annotations

from sqlalchemy import update

from attendance_shared.db import session_scope
from attendance_shared.models import Job, JobState, utcnow
from attendance_shared.settings import get_settings


def _url() -> str:
    return get_settings().sqlalchemy_url


def begin(job_id: str) -> Job | None:
    """Mark a job running. None when there is nothing to do: unknown job, or already finished
    (a second delivery of a finished job must leave it exactly as it is)."""
    with session_scope(_url()) as s:
        job = s.get(Job, job_id, with_for_update=True)
        if job is None or job.state in (JobState.SUCCEEDED, JobState.FAILED):
            return None
        job.state = JobState.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or utcnow()
        job.error = None
        s.flush()
        s.expunge(job)
        return job


def progress(job_id: str, percent: int, message: str | None = None) -> None:
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING)
            .values(progress=max(0, min(100, percent)), message=message)
        )


def finish(job_id: str, message: str | None = None) -> None:
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(state=JobState.SUCCEEDED, progress=100, message=message, error=None, finished_at=utcnow())
        )


def fail(job_id: str, error: str) -> None:
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state != JobState.SUCCEEDED)
            .values(state=JobState.FAILED, error=error[:2000], finished_at=utcnow())
        )
