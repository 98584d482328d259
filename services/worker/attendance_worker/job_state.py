"""The jobs table is the source of truth for progress; every write is its own short transaction.

A started job is held by one worker process (Job.worker: host, pid and the process's start time) under a short
lease (Job.deadline) that a heartbeat thread renews while the task runs. A worker that dies (SIGKILL, out of
memory, the machine gone) stops renewing: the sweeper (maintenance.sweep_stuck_jobs) sends its jobs again once the
lease has run out, or at once when the holder was on the same machine and its process is gone, and a duplicate
delivery of a job whose holder is alive leaves it to that holder.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
from pathlib import Path

from sqlalchemy import update

from attendance_shared.db import session_scope
from attendance_shared.models import Job, JobOutcome, JobState, utcnow
from attendance_shared.settings import get_settings

log = logging.getLogger(__name__)


def _url() -> str:
    return get_settings().sqlalchemy_url


#: times the sweeper re-sends a lost job (maintenance.sweep_stuck_jobs)
MAX_ATTEMPTS = 5

#: a running job's lease: a worker that has not renewed it for this long is taken for dead
LEASE_SECONDS = 30
#: how often the heartbeat renews the lease (three tries before it runs out)
HEARTBEAT_SECONDS = 10


def delivery_limit() -> int:
    """Starts of one job before begin() gives up: a photo that kills the worker (out of memory, say) would
    otherwise come straight back forever (acks_late + reject_on_worker_lost); a task's own retries count too."""
    return MAX_ATTEMPTS + get_settings().task_max_retries


def lease_seconds() -> int:
    """How long a started job may go without a heartbeat before the sweeper takes its worker for lost."""
    return LEASE_SECONDS


def queued_deadline(now: dt.datetime) -> dt.datetime:
    """When a job waiting in the queue is taken for lost (the broker forgot it) and sent again."""
    return now + dt.timedelta(seconds=get_settings().task_time_limit * 2 + 120)


def aware(moment: dt.datetime) -> dt.datetime:
    """SQLite gives naive datetimes back (stored as UTC); PostgreSQL gives aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat, field 22): with the pid, it names one
    process for as long as the machine runs (a pid alone is reused, in a restarted container at once). None where
    there is no /proc or no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]


def this_process() -> str:
    """This process as a job's holder: "host pid start" (start "-" where /proc is missing)."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {_start_ticks(pid) or '-'}"


def _here(holder: str | None) -> tuple[int, str] | None:
    """The holder's pid and start time when it ran on this machine (same host name) and this machine can check it."""
    parts = (holder or "").split(" ")
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit() or parts[2] == "-":
        return None
    return int(parts[1]), parts[2]


def holder_gone(holder: str | None) -> bool:
    """True when the holder ran on this machine and its process no longer exists. A holder on another machine, or
    one this machine cannot check, is never taken for gone here: its lease decides."""
    local = _here(holder)
    return local is not None and _start_ticks(local[0]) != local[1]


def holder_alive_here(holder: str | None) -> bool:
    """True when the holder runs on this machine and its process is still there."""
    local = _here(holder)
    return local is not None and _start_ticks(local[0]) == local[1]


class _Heartbeat:
    """Renews one job's lease every HEARTBEAT_SECONDS while the job is running and held by this process; stops by
    itself once it is not (finished, failed, handed back, taken over) or after the database has refused it for
    longer than the lease (the lease is lost by then anyway)."""

    def __init__(self, job_id: str, holder: str) -> None:
        self.job_id, self.holder = job_id, holder
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"lease-{job_id[:8]}", daemon=True)

    def _run(self) -> None:
        renewed_at = time.monotonic()
        while not self.stopped.wait(HEARTBEAT_SECONDS):
            try:
                held = renew(self.job_id, self.holder)
            except Exception:
                log.warning("could not renew the lease of job %s", self.job_id, exc_info=True)
                if time.monotonic() - renewed_at > LEASE_SECONDS:
                    return
                continue
            if not held:
                return
            renewed_at = time.monotonic()


_beats: dict[str, _Heartbeat] = {}
_beats_lock = threading.Lock()


def _start_heartbeat(job_id: str, holder: str) -> None:
    beat = _Heartbeat(job_id, holder)
    with _beats_lock:
        previous = _beats.pop(job_id, None)
        _beats[job_id] = beat
    if previous:
        previous.stopped.set()
    beat.thread.start()


def stop_heartbeats() -> None:
    """Stop every heartbeat of this process, leaving the jobs as they are (tests that run tasks in-process without
    Celery's task_postrun)."""
    with _beats_lock:
        beats = list(_beats.values())
        _beats.clear()
    for beat in beats:
        beat.stopped.set()
    for beat in beats:
        beat.thread.join(5)


def renew(job_id: str, holder: str) -> bool:
    """Push the lease on; False when the job is no longer running under this holder."""
    with session_scope(_url()) as s:
        result = s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == holder)
            .values(deadline=utcnow() + dt.timedelta(seconds=lease_seconds()))
        )
        return bool(getattr(result, "rowcount", 0))


def release(job_id: str) -> None:
    """The task has ended (task_postrun): stop the heartbeat, and hand a job this process still holds back to the
    queue (a retry, or an error that left it running) so its next delivery is not taken for a duplicate."""
    with _beats_lock:
        beat = _beats.pop(job_id, None)
    if beat is None:
        return
    beat.stopped.set()
    now = utcnow()
    with session_scope(_url()) as s:
        s.execute(
            update(Job)
            .where(Job.id == job_id, Job.state == JobState.RUNNING, Job.worker == beat.holder)
            .values(state=JobState.QUEUED, worker=None, deadline=queued_deadline(now))
        )


def begin(job_id: str) -> Job | None:
    """Mark a job running, held by this process under a lease its heartbeat renews. None when there is nothing to
    do: unknown job, already finished (a second delivery of a finished job must leave it exactly as it is), running
    under a live worker (a duplicate delivery: the broker's redelivery of a message the sweeper already sent again),
    or started delivery_limit() times already (then failed, in words)."""
    me = this_process()
    with session_scope(_url()) as s:
        job = s.get(Job, job_id, with_for_update=True)
        if job is None or job.state in (JobState.SUCCEEDED, JobState.FAILED):
            return None
        now = utcnow()
        if (
            job.state == JobState.RUNNING
            and job.worker not in (None, me)
            and job.deadline is not None
            and aware(job.deadline) > now
            and not holder_gone(job.worker)
        ):
            log.info("job %s is running in %s; this delivery leaves it to that worker", job_id, job.worker)
            return None
        if job.attempts >= delivery_limit():
            job.state, job.finished_at = JobState.FAILED, now
            job.error = "This was started several times and never finished. Please try again, or with fewer photos."
            return None
        job.state = JobState.RUNNING
        job.worker = me
        job.attempts += 1
        job.started_at = job.started_at or now
        job.deadline = now + dt.timedelta(seconds=lease_seconds())
        job.error = None
        s.flush()
        s.expunge(job)
    _start_heartbeat(job_id, me)
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
