"""The jobs table is the source of truth for progress; every write is its own short transaction."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from attendance_shared.db import session_scope
from attendance_shared.models import Job, JobOutcome, JobState, utcnow
from attendance_shared.settings import get_settings


def _url() -> str:
    return get_settings().sqlalchemy_url


#: times the sweeper re-sends a lost job (maintenance.sweep_stuck_jobs)
MAX_ATTEMPTS = 5


def delivery_limit() -> int:
    """Starts of one job before begin() gives up: a photo that kills the worker (out of memory, say) would
    otherwise come straight back forever (acks_late + reject_on_worker_lost); a task's own retries count too."""
    return MAX_ATTEMPTS + get_settings().task_max_retries


def lease_seconds() -> int:
    """How long a started job may run before the sweeper may think its worker lost: the hard time limit kills
    the task before then."""
    return get_settings().task_time_limit + 120


def begin(job_id: str) -> Job | None:
    """Mark a job running, with a lease the sweeper respects. None when there is nothing to do: unknown job,
    already finished (a second delivery of a finished job must leave it exactly as it is), or started
    delivery_limit() times already (then failed, in words)."""
    with session_scope(_url()) as s:
        job = s.get(Job, job_id, with_for_update=True)
        if job is None or job.state in (JobState.SUCCEEDED, JobState.FAILED):
            return None
        now = utcnow()
        if job.attempts >= delivery_limit():
            job.state, job.finished_at = JobState.FAILED, now
            job.error = "This was started several times and never finished. Please try again, or with fewer photos."
            return None
        job.state = JobState.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or now
        job.deadline = now + dt.timedelta(seconds=lease_seconds())
        job.error = None
        s.flush()
        s.expunge(job)
        return job


#: Job.message's column width; a longer sentence (a refusal naming a long file and student) is shortened to fit
MESSAGE_MAX = 255


def fit_message(message: str | None) -> str | None:
    """The message as the column can hold it: PostgreSQL refuses a longer one, which would fail the job."""
    if message is None or len(message) <= MESSAGE_MAX:
        return message
    return message[: MESSAGE_MAX - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def progress(job_id: str, percent: int, message: str | None = None) -> None:
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING)
            .values(progress=max(0, min(100, percent)), message=fit_message(message))
        )


def finish(job_id: str, message: str | None = None, outcome: JobOutcome | None = None) -> None:
    """Succeeded, with its summary and what it found; a second delivery that ran alongside (and found the work
    done) does not replace the first one's."""
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state != JobState.SUCCEEDED)
            .values(
                state=JobState.SUCCEEDED,
                progress=100,
                message=fit_message(message),
                outcome=outcome,
                error=None,
                finished_at=utcnow(),
            )
        )


def fail(job_id: str, error: str) -> None:
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state != JobState.SUCCEEDED)
            .values(state=JobState.FAILED, error=error[:2000], finished_at=utcnow())
        )
