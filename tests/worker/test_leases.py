"""A running job is held by one worker process under a lease its heartbeat renews: a worker that dies is noticed
(at once on its own machine, after the lease elsewhere) and its job sent again; a duplicate delivery of a job a
live worker holds is left to that worker."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest

from attendance_shared.db import session_scope
from attendance_shared.models import Job, JobState, utcnow
from attendance_shared.settings import get_settings
from tests.conftest import wait_for
from tests.factories import seed_course


@pytest.fixture()
def job_id() -> str:
    return str(seed_course({}, [("room.jpg", b"x")])["job"])


@pytest.fixture()
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from attendance_worker import maintenance

    sent: list[str] = []
    monkeypatch.setattr(maintenance, "enqueue", lambda app, settings, payload: sent.append(payload.job_id))
    return sent


def _job(job_id: str) -> Job:
    with session_scope(get_settings().sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        assert job is not None
        s.expunge(job)
        return job


def _hold(job_id: str, worker: str, lease_left_s: float) -> None:
    with session_scope(get_settings().sqlalchemy_url) as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state, job.worker, job.attempts = JobState.RUNNING, worker, 1
        job.deadline = utcnow() + dt.timedelta(seconds=lease_left_s)


def _gone_process() -> str:
    """A holder on this machine whose process has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{socket.gethostname()} {proc.pid} 1"


ELSEWHERE = "another-machine.example.org 4242 777"


def test_begin_records_this_process_and_a_live_holder_keeps_its_job(job_id: str) -> None:
    from attendance_worker import job_state

    assert job_state.begin(job_id) is not None
    assert _job(job_id).worker == job_state.this_process()
    _hold(job_id, ELSEWHERE, 30)
    assert job_state.begin(job_id) is None  # the broker's redelivery while the other worker still works on it
    job = _job(job_id)
    assert job.state == JobState.RUNNING and job.worker == ELSEWHERE and job.attempts == 1


def test_a_job_whose_holder_died_on_this_machine_is_taken_over_at_once(job_id: str, sent: list[str]) -> None:
    from attendance_worker import job_state, maintenance

    dead = _gone_process()
    _hold(job_id, dead, 30)  # the lease has not run out yet
    assert job_state.holder_gone(dead) and not job_state.holder_gone(job_state.this_process())
    assert maintenance.sweep_stuck_jobs() == 1 and sent == [job_id]
    job = _job(job_id)
    assert job.state == JobState.QUEUED and job.worker is None
    _hold(job_id, dead, 30)
    assert job_state.begin(job_id) is not None  # the redelivery of a pool process's message (acks_late)
    assert _job(job_id).worker == job_state.this_process()


def test_a_holder_elsewhere_is_trusted_until_its_lease_runs_out(job_id: str, sent: list[str]) -> None:
    from attendance_worker import maintenance

    _hold(job_id, ELSEWHERE, 20)
    assert maintenance.sweep_stuck_jobs() == 0 and sent == []
    _hold(job_id, ELSEWHERE, -1)  # no heartbeat for longer than the lease
    assert maintenance.sweep_stuck_jobs() == 1 and sent == [job_id]
    assert _job(job_id).state == JobState.QUEUED


def test_a_live_holder_here_keeps_its_job_past_the_lease_until_the_time_limit(job_id: str, sent: list[str]) -> None:
    """A busy database held its heartbeat up; the process is still working on it."""
    from attendance_worker import job_state, maintenance

    me = job_state.this_process()
    _hold(job_id, me, -5)
    assert maintenance.sweep_stuck_jobs() == 0 and sent == []
    _hold(job_id, me, -(get_settings().task_time_limit + 5))
    assert maintenance.sweep_stuck_jobs() == 1


def test_the_heartbeat_renews_the_lease_until_the_job_finishes(job_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from attendance_worker import job_state

    monkeypatch.setattr(job_state, "HEARTBEAT_SECONDS", 0.05)
    assert job_state.begin(job_id) is not None
    beat = job_state._beats[job_id]
    with session_scope(get_settings().sqlalchemy_url) as s:
        s.get(Job, job_id).deadline = utcnow() - dt.timedelta(seconds=1)  # type: ignore[union-attr]
    wait_for(lambda: job_state.aware(_job(job_id).deadline) > utcnow(), 10, 0.05, "the lease renewed")  # type: ignore[arg-type]
    job_state.finish(job_id, "done")
    beat.thread.join(5)
    assert not beat.thread.is_alive()  # nothing left to renew: the heartbeat stopped by itself


def test_a_task_that_ends_without_finishing_hands_its_job_back(job_id: str) -> None:
    """A retry (or an error that left the job running): its next delivery must not be taken for a duplicate."""
    from attendance_worker import job_state

    assert job_state.begin(job_id) is not None
    job_state.release(job_id)
    job = _job(job_id)
    assert job.state == JobState.QUEUED and job.worker is None
    assert job_state.aware(job.deadline) > utcnow() + dt.timedelta(minutes=5)  # type: ignore[arg-type]
    assert job_id not in job_state._beats
    job_state.release(job_id)  # a task that never began (a duplicate) has nothing to hand back
    assert _job(job_id).state == JobState.QUEUED
