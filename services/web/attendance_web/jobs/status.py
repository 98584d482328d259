"""A job's state as JSON: the one shape both the pages' polling and the API return (each adds its links)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from attendance_shared.models import Job, JobKind, JobOutcome, JobState

from ..times import utc_iso

#: what a teacher reads for each state (the JSON keeps the machine value in "state")
STATE_WORDS = {
    JobState.QUEUED: "waiting its turn",
    JobState.RUNNING: "working",
    JobState.SUCCEEDED: "done",
    JobState.FAILED: "could not finish",
}


def _iso(value: dt.datetime | None) -> str | None:
    """RFC 3339 in UTC with a Z, as every other timestamp of the site and the API (times.utc_iso)."""
    return utc_iso(value) if value else None


def state_words(job: Job) -> tuple[str, str]:
    """(words, badge class): a portrait check that finished with a refusal reads "photo refused", not "done" (so
    does one whose photo was deleted before it ran)."""
    refused = job.outcome in (JobOutcome.REFUSED, JobOutcome.GONE)
    if job.kind == JobKind.ENROLLMENT and job.state == JobState.SUCCEEDED and refused:
        return "photo refused", "rejected"
    return STATE_WORDS[job.state], job.state.value


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
