"""Periodic work: re-send jobs the broker or a dead worker lost, delete classroom photos past their retention."""

from __future__ import annotations

import datetime as dt
import logging
import socket

from sqlalchemy import and_, or_, select

from attendance_shared.contracts import AttendancePayload, EnrollmentPayload
from attendance_shared.db import session_scope
from attendance_shared.models import AttendanceSession, Course, Job, JobKind, JobState, SessionPhoto, Teacher, utcnow
from attendance_shared.queue import enqueue, make_celery
from attendance_shared.roster_previews import expire_stale_previews
from attendance_shared.settings import get_settings
from attendance_shared.storage import StorageError, make_store

from .job_state import MAX_ATTEMPTS, aware, holder_alive_here, holder_gone, queued_deadline

log = logging.getLogger(__name__)


def _lost(job: Job, now: dt.datetime, grace: dt.timedelta) -> bool:
    """A queued job past its deadline (the broker forgot it); a running job whose worker process is gone from this
    machine, or whose lease ran out (no heartbeat: the worker died elsewhere). A holder still alive on this machine
    (its heartbeat held up by a busy database) keeps it until the hard time limit would have stopped the task."""
    deadline = aware(job.deadline) if job.deadline is not None else None
    if job.state == JobState.QUEUED:
        return deadline is not None and deadline < now
    if holder_gone(job.worker):
        return True
    if deadline is None or deadline >= now:
        return False
    return not holder_alive_here(job.worker) or deadline + grace < now


def sweep_stuck_jobs() -> int:
    """Jobs lost by the broker or by a dead worker (_lost) are sent again, up to MAX_ATTEMPTS, then failed with a
    reason. A running job under a live lease is left alone, however long it waited in the queue. Safe because every
    task is idempotent, and a duplicate delivery of a job a live worker holds is left to it (job_state.begin)."""
    settings = get_settings()
    publisher = make_celery(settings)
    now = utcnow()
    grace = dt.timedelta(seconds=settings.task_time_limit)
    here = f"{socket.gethostname()} %"
    resent = 0
    with session_scope(settings.sqlalchemy_url) as s:
        candidates = s.scalars(
            select(Job)
            .where(
                or_(
                    and_(Job.state.in_([JobState.QUEUED, JobState.RUNNING]), Job.deadline < now),
                    and_(Job.state == JobState.RUNNING, Job.worker.like(here)),
                )
            )
            .with_for_update(skip_locked=True)
        ).all()
        for job in candidates:
            if not _lost(job, now, grace):
                continue
            if job.state == JobState.RUNNING:
                log.warning("job %s was held by %s, which is gone: sending it again", job.id, job.worker)
            if job.attempts >= MAX_ATTEMPTS:
                job.state = JobState.FAILED
                job.error = "The job did not finish after several attempts. Please try again."
                job.finished_at = now
                continue
            job.state = JobState.QUEUED
            job.worker = None
            job.deadline = queued_deadline(now)
            payload: AttendancePayload | EnrollmentPayload = (
                AttendancePayload(job_id=job.id, session_id=job.subject_id)
                if job.kind == JobKind.ATTENDANCE
                else EnrollmentPayload(job_id=job.id, photo_id=job.subject_id)
            )
            enqueue(publisher, settings, payload)
            resent += 1
    if resent:
        log.warning("re-sent %d stuck job(s)", resent)
    return resent


#: photos deleted per transaction: a backlog is worked off in steps that each stick, even if the run is stopped
PURGE_BATCH = 200


def purge_old_photos() -> int:
    """Delete classroom photos older than each teacher's retention (attendance records stay), and roster
    uploads left unconfirmed for a day. Per teacher, the database picks the expired photos, PURGE_BATCH at a
    time, each batch committed: a large backlog makes progress on every run."""
    settings = get_settings()
    store = make_store(settings)
    now = utcnow()
    purged = 0
    with session_scope(settings.sqlalchemy_url) as s:
        expire_stale_previews(s, store)
        teachers = s.execute(select(Teacher.id, Teacher.photo_retention_days)).all()
        for teacher_id, days in teachers:
            cutoff = now - dt.timedelta(days=days)
            skipped: set[int] = set()  # the store refused them this run; the next run tries again
            while True:
                batch = s.scalars(
                    select(SessionPhoto)
                    .join(AttendanceSession, SessionPhoto.session_id == AttendanceSession.id)
                    .join(Course, AttendanceSession.course_id == Course.id)
                    .where(
                        Course.teacher_id == teacher_id,
                        SessionPhoto.storage_key.is_not(None),
                        SessionPhoto.created_at < cutoff,
                        SessionPhoto.id.not_in(skipped),
                    )
                    .order_by(SessionPhoto.id)
                    .limit(PURGE_BATCH)
                ).all()
                if not batch:
                    break
                for photo in batch:
                    try:
                        for key in (photo.storage_key, photo.annotated_key):
                            if key:
                                store.delete(key)
                    except StorageError:
                        log.warning("could not purge photo %s; will retry next run", photo.id, exc_info=True)
                        skipped.add(photo.id)
                        continue
                    photo.storage_key = None
                    photo.annotated_key = None
                    purged += 1
                s.commit()
    return purged
