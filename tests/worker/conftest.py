"""The worker's tasks are run here in-process on rows seeded straight into this run's database."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _database(database: str) -> str:
    """Every test here reads or writes the database without the `app` fixture: created and migrated first."""
    return database


@pytest.fixture(autouse=True)
def _no_heartbeat_outlives_its_test():
    """Tasks run here in-process, without Celery's task_postrun that ends a job's heartbeat (job_state)."""
    yield
    from attendance_worker.job_state import stop_heartbeats

    stop_heartbeats()
