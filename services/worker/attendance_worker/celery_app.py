"""The worker's Celery app: the shared configuration plus this package's tasks.

Start with `celery -A attendance_worker.celery_app worker --queues attendance,enrollment,maintenance`.
Models are loaded once per worker process (worker_process_init), never per task; a missing or
corrupt model pack stops the worker at start with a message naming the file and the fix.
A worker that starts looks at once for the jobs a dead predecessor held (worker_ready), and again once their
leases have run out; a task's end hands its job's lease back (task_postrun, job_state.release).
"""

from __future__ import annotations

import gc
import logging
import sys
from typing import Any

from celery.signals import (
    beat_embedded_init,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
)

from attendance_shared.contracts import SWEEP_TASK
from attendance_shared.logs import configure_logging, job_id
from attendance_shared.queue import make_celery
from attendance_shared.settings import ConfigurationError, get_settings

log = logging.getLogger(__name__)

configure_logging("worker")
settings = get_settings()
try:
    settings.require_production_secrets()
except ConfigurationError as exc:  # one clear line for the operator
    sys.exit(f"error: {exc}")
celery_app = make_celery(settings)
celery_app.conf.include = ["attendance_worker.tasks"]
app = celery_app


@worker_init.connect
def _check_models(**_: Any) -> None:
    """Refuse to start a worker that cannot recognise anyone."""
    from .engine import ModelPackError, load_pack

    try:
        load_pack(get_settings().model_pack)
    except ModelPackError as exc:
        log.critical("%s", exc)
        raise SystemExit(f"attendance worker cannot start: {exc}") from None


@worker_init.connect
def _freeze_before_fork(**_: Any) -> None:
    """Everything the main process holds by now, moved out of the garbage collector's sight before the pool and the
    embedded beat fork from it (after _check_models: signals run in the order they were connected): a collection in
    a child would otherwise touch, and so copy, every page of those objects. On the single instance the beat child's
    own memory is ~17 MB instead of ~53 MB. A pool process replaced later (worker_max_tasks_per_child) forks from the
    same frozen objects."""
    gc.freeze()


@worker_process_init.connect
def _load_engine(**_: Any) -> None:
    from .engine import get_engine

    get_engine()


@task_prerun.connect
def _bind_job_id(task_id: str | None = None, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    """Every log line of a task carries its job id (= task id)."""
    job_id.set((kwargs or {}).get("job_id") or task_id)


@task_postrun.connect
def _unbind_job_id(task_id: str | None = None, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    job_id.set(None)
    held = (kwargs or {}).get("job_id")
    if held:
        from .job_state import release

        try:
            release(held)
        except Exception:  # the database is down: the lease runs out and the sweeper takes the job back
            log.warning("could not hand back job %s", held, exc_info=True)


@worker_ready.connect
def _take_back_lost_jobs(**_: Any) -> None:
    """A worker restarted after its predecessor was killed takes back the jobs that one held: at once those of a
    process gone from this machine, and after the lease those of a worker that died elsewhere (the sweeper, run in
    the pool, decides; beat's minutely run does the same)."""
    from .job_state import LEASE_SECONDS

    for countdown in (0, LEASE_SECONDS + 5):
        try:
            celery_app.send_task(SWEEP_TASK, countdown=countdown or None)
        except Exception:  # the broker is down; beat's sweeper runs once it is back
            log.warning("could not ask for a sweep of lost jobs", exc_info=True)


@beat_embedded_init.connect
def _stop_with_the_worker(**_: Any) -> None:
    """The beat inside `celery worker --beat` (make run) is a child process: when its worker is killed it must not
    live on (and keep sending periodic tasks) as an orphan."""
    from celery.platforms import set_pdeathsig

    set_pdeathsig("SIGTERM")
