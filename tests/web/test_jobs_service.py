"""The unit of work behind every upload: store files, add rows, create jobs, commit, then publish.

Driven directly (no HTTP): a failed commit keeps no file and sends nothing, a job is sent only once it is
committed, and a broker that is down leaves the committed job queued for the sweeper.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

import attendance_web.jobs_service as jobs_service
from attendance_shared.db import session_scope
from attendance_shared.models import Job, JobKind, JobState, School, Teacher
from attendance_shared.storage import StorageError, student_photo_key
from attendance_web.extensions import db, store
from attendance_web.jobs_service import UnitOfWork


@pytest.fixture()
def teacher_id(app: Flask) -> Iterator[int]:
    """A teacher row, with the app context the unit of work runs in."""
    with app.app_context():
        teacher = Teacher(
            email=f"uow-{uuid.uuid4().hex[:8]}@school.example.org", name="T", password_hash="x", school=School(name="S")
        )
        db().add(teacher)
        db().commit()
        yield teacher.id


def _committed_jobs(app: Flask, teacher_id: int) -> list[Job]:
    """What another connection sees: only committed rows."""
    with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
        jobs = list(s.scalars(select(Job).where(Job.teacher_id == teacher_id)))
        s.expunge_all()
        return jobs


def _stored(key: str) -> bool:
    try:
        store().get(key)
    except StorageError:
        return False
    return True


def _same_email_as(teacher_id: int) -> Teacher:
    """A row the commit refuses (teachers.email is UNIQUE); added last, so it is the commit that fails."""
    email = db().get_one(Teacher, teacher_id).email
    return Teacher(email=email, name="Copy", password_hash="x", school=School(name="S"))


def test_a_failed_commit_deletes_the_stored_files_and_publishes_nothing(app, teacher_id, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(jobs_service, "publish", lambda job: sent.append(job.id) or True)
    key = student_photo_key(teacher_id, 1, "jpg")
    with pytest.raises(IntegrityError):
        with UnitOfWork(teacher_id) as work:
            work.put(key, b"portrait", "image/jpeg")
            assert _stored(key)
            work.new_job(JobKind.ENROLLMENT, 1)
            db().add(_same_email_as(teacher_id))
    assert not _stored(key)
    assert sent == []
    assert _committed_jobs(app, teacher_id) == []


def test_an_error_in_the_block_deletes_the_files_stored_so_far_and_is_raised(app, teacher_id, monkeypatch):
    sent: list[str] = []
    monkeypatch.setattr(jobs_service, "publish", lambda job: sent.append(job.id) or True)
    first = student_photo_key(teacher_id, 1, "jpg")
    with pytest.raises(StorageError, match="store down"):
        with UnitOfWork(teacher_id) as work:
            work.put(first, b"one", "image/jpeg")
            work.new_job(JobKind.ENROLLMENT, 1)
            raise StorageError("store down")
    assert not _stored(first)
    assert sent == [] and _committed_jobs(app, teacher_id) == []


def test_jobs_are_published_after_the_commit(app, teacher_id, monkeypatch):
    """When publish runs, another connection already sees the job row: the worker never gets an unknown job."""
    seen_when_sent: list[list[str]] = []

    def publish(job: Job) -> bool:
        seen_when_sent.append([j.id for j in _committed_jobs(app, teacher_id)])
        return True

    monkeypatch.setattr(jobs_service, "publish", publish)
    key = student_photo_key(teacher_id, 1, "jpg")
    with UnitOfWork(teacher_id) as work:
        work.put(key, b"portrait", "image/jpeg")
        jobs = [work.new_job(JobKind.ENROLLMENT, n) for n in (1, 2)]
    ids = sorted(job.id for job in jobs)
    assert [sorted(seen) for seen in seen_when_sent] == [ids, ids]
    assert work.published and _stored(key)


def test_a_broker_that_is_down_leaves_the_job_queued_for_the_sweeper(app, teacher_id, monkeypatch):
    def broker_down(*_args: object) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(jobs_service, "enqueue", broker_down)
    with UnitOfWork(teacher_id) as work:
        job = work.new_job(JobKind.ATTENDANCE, 7)
    assert work.published is False
    [row] = _committed_jobs(app, teacher_id)
    assert (row.id, row.state, row.subject_id) == (job.id, JobState.QUEUED, 7)


def test_a_file_the_commit_replaces_is_deleted_only_after_the_commit(app, teacher_id, monkeypatch):
    monkeypatch.setattr(jobs_service, "publish", lambda job: True)
    old = student_photo_key(teacher_id, 1, "jpg")
    store().put(old, b"old", "image/jpeg")
    with pytest.raises(IntegrityError):
        with UnitOfWork(teacher_id) as work:
            work.remove_after_commit(old)
            db().add(_same_email_as(teacher_id))
    assert _stored(old)  # the rows still refer to it
    with UnitOfWork(teacher_id) as work:
        work.remove_after_commit(old)
    assert not _stored(old)
