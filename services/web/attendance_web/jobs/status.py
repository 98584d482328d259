"""A job's state as JSON: the one shape both the pages' polling and the API return (each adds its links)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from attendance_shared.models import Job, JobState


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def job_status(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind.value,
        "state": job.state.value,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "done": job.state in (JobState.SUCCEEDED, JobState.FAILED),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }
