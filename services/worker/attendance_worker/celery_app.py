"""The worker's Celery app: the shared configuration plus this package's tasks.

Start with `celery -A attendance_worker.celery_app worker --queues attendance,enrollment,maintenance`.
Models are loaded once per worker process (worker_process_init), never per task; a missing or
corrupt model pack stops the worker at start with a message naming the file and the fix.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init

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


@worker_process_init.connect
def _load_engine(**_: Any) -> None:
    from .engine import get_engine

    get_engine()


@task_prerun.connect
def _bind_job_id(task_id: str | None = None, kwargs: dict[str, Any] | None = None, **_: Any) -> None:
    """Every log line of a task carries its job id (= task id)."""
    job_id.set((kwargs or {}).get("job_id") or task_id)


@task_postrun.connect
def _unbind_job_id(**_: Any) -> None:
    job_id.set(None)
