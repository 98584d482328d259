"""Periodic maintenance: classroom photos past the teacher's retention are deleted (records stay);
jobs stuck past their deadline are re-sent, and given up on after several attempts."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Job,
    JobState,
    SessionPhoto,
    Teacher,
    utcnow,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store
from tests.factories import seed_course


def test_old_classroom_photos_are_purged_and_records_stay():
    from attendance_worker.maintenance import purge_old_photos

    ids = seed_course({"Ann": []}, [("old.jpg", b"old photo"), ("new.jpg", b"new photo")])
    url = get_settings().sqlalchemy_url
    store = make_store(get_settings())
    with session_scope(url) as s:
        s.get(Teacher, ids["teacher"]).photo_retention_days = 30
        old = s.scalar(
            select(SessionPhoto).where(
                SessionPhoto.session_id == ids["session"], SessionPhoto.original_filename == "old.jpg"
            )
        )
        old.created_at = utcnow() - dt.timedelta(days=31)
        old.annotated_key = old.storage_key.replace(".jpg", ".annotated.jpg")
        store.put(old.annotated_key, b"boxes", "image/jpeg")
        keys = (old.storage_key, old.annotated_key)
        s.add(
            AttendanceRecord(
                session_id=ids["session"], student_id=ids["students"]["Ann"], status=AttendanceStatus.PRESENT
            )
        )
    assert purge_old_photos() >= 1
    assert not any(store.exists(k) for k in keys)
    with session_scope(url) as s:
        photos = {
            p.original_filename: p
            for p in s.scalars(select(SessionPhoto).where(SessionPhoto.session_id == ids["session"]))
        }
        assert photos["old.jpg"].storage_key is None and photos["old.jpg"].annotated_key is None
        assert photos["new.jpg"].storage_key and store.exists(photos["new.jpg"].storage_key)
        assert (
            s.scalar(select(AttendanceRecord.status).where(AttendanceRecord.session_id == ids["session"]))
            == AttendanceStatus.PRESENT
        )
        assert s.get(AttendanceSession, ids["session"]) is not None
    assert purge_old_photos() == 0  # idempotent: nothing left to purge


@pytest.mark.postgres  # compares with an aware utcnow(): SQLite gives naive datetimes back
def test_stuck_jobs_are_resent_then_given_up(monkeypatch):
    from attendance_worker import maintenance

    sent: list[str] = []
    monkeypatch.setattr(maintenance, "enqueue", lambda app, settings, payload: sent.append(payload.job_id))
    ids = seed_course({}, [("room.jpg", b"x")])
    url = get_settings().sqlalchemy_url
    past = utcnow() - dt.timedelta(minutes=1)
    with session_scope(url) as s:
        job = s.get(Job, ids["job"])
        job.state, job.deadline, job.attempts = JobState.RUNNING, past, 1
    maintenance.sweep_stuck_jobs()
    assert ids["job"] in sent
    with session_scope(url) as s:
        job = s.get(Job, ids["job"])
        assert job.state == JobState.QUEUED and job.deadline > utcnow()
        job.deadline, job.attempts = past, maintenance.MAX_ATTEMPTS
    maintenance.sweep_stuck_jobs()
    with session_scope(url) as s:
        job = s.get(Job, ids["job"])
        assert job.state == JobState.FAILED and "several attempts" in job.error


@pytest.mark.postgres  # as above
def test_a_running_job_within_its_lease_is_left_alone_however_long_it_waited(monkeypatch):
    """A job that waited behind a backlog past its first deadline, then started: the sweeper must not flip it back
    to queued (its progress would stop showing) nor send a second copy."""
    from attendance_worker import job_state, maintenance

    sent: list[str] = []
    monkeypatch.setattr(maintenance, "enqueue", lambda app, settings, payload: sent.append(payload.job_id))
    ids = seed_course({}, [("room.jpg", b"x")])
    url = get_settings().sqlalchemy_url
    with session_scope(url) as s:
        s.get(Job, ids["job"]).deadline = utcnow() - dt.timedelta(minutes=5)  # created long ago
    assert job_state.begin(ids["job"]) is not None
    maintenance.sweep_stuck_jobs()
    assert sent == []
    with session_scope(url) as s:
        job = s.get(Job, ids["job"])
        assert job.state == JobState.RUNNING and job.deadline > utcnow()


def test_a_job_delivered_too_often_is_failed_in_words():
    """A photo that kills the worker is redelivered at once (acks_late): after the allowed starts, it gives up."""
    from attendance_worker import job_state

    ids = seed_course({}, [("room.jpg", b"x")])
    for _ in range(job_state.delivery_limit()):
        assert job_state.begin(ids["job"]) is not None  # each time the worker "died" before finishing
    assert job_state.begin(ids["job"]) is None
    with session_scope(get_settings().sqlalchemy_url) as s:
        job = s.get(Job, ids["job"])
        assert job.state == JobState.FAILED and "started several times and never finished" in job.error


def test_unconfirmed_roster_uploads_are_dropped_after_a_day():
    from attendance_shared.models import RosterImport
    from attendance_worker.maintenance import purge_old_photos

    ids = seed_course({}, [])
    store = make_store(get_settings())
    keys = (f"temp/imports/stale-{ids['course']}.csv", f"temp/imports/fresh-{ids['course']}.csv")
    for key in keys:
        store.put(key, b"student_number,name\n1,A\n", "text/csv")
    with session_scope(get_settings().sqlalchemy_url) as s:
        stale = RosterImport(teacher_id=ids["teacher"], course_id=ids["course"], csv_key=keys[0])
        stale.created_at = utcnow() - dt.timedelta(days=2)
        fresh = RosterImport(teacher_id=ids["teacher"], course_id=ids["course"], csv_key=keys[1])
        s.add_all([stale, fresh])
        s.flush()
        stale_id, fresh_id = stale.id, fresh.id
    purge_old_photos()
    assert not store.exists(keys[0]) and store.exists(keys[1])
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.get(RosterImport, stale_id).state == "expired"
        assert s.get(RosterImport, fresh_id).state == "preview"


def test_a_second_delivery_does_not_replace_the_first_ones_summary():
    from attendance_worker import job_state

    ids = seed_course({}, [("room.jpg", b"x")])
    assert job_state.begin(ids["job"]) is not None
    assert job_state.begin(ids["job"]) is not None  # delivered again while the first copy runs (concurrency 2)
    job_state.finish(ids["job"], "1 photo(s), 30 face(s): 28 present")
    job_state.finish(ids["job"], "No new photos to recognise; the attendance list is up to date.")
    with session_scope(get_settings().sqlalchemy_url) as s:
        assert s.get(Job, ids["job"]).message == "1 photo(s), 30 face(s): 28 present"


def test_a_summary_longer_than_the_column_is_shortened_not_lost():
    """A refusal naming a long file and a long name ran past Job.message's 255 characters: PostgreSQL refused the
    write and the job failed although the portrait's verdict was saved."""
    from attendance_worker import job_state

    ids = seed_course({}, [("room.jpg", b"x")])
    assert job_state.begin(ids["job"]) is not None
    long = "Refused: " + "a" * 300 + ".jpg does not look like the student's other portraits."
    job_state.progress(ids["job"], 50, long)
    job_state.finish(ids["job"], long)
    with session_scope(get_settings().sqlalchemy_url) as s:
        job = s.get(Job, ids["job"])
        assert job.state == JobState.SUCCEEDED
        assert len(job.message) == job_state.MESSAGE_MAX and job.message.startswith("Refused: aaa")
        assert job.message.endswith("\N{HORIZONTAL ELLIPSIS}")
