"""The Celery application configuration both services use, and the one way to enqueue a job.

The web builds a Celery app from this (no tasks registered) only to publish; the worker builds the
same app and registers its tasks. Reliability settings live here so the two can never disagree.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Queue

from .contracts import (
    ALL_QUEUES,
    ATTENDANCE_TASK,
    ENROLLMENT_TASK,
    PORTRAIT_HASH_TASK,
    REEMBED_TASK,
    RETENTION_TASK,
    SWEEP_TASK,
    TASK_QUEUES,
    AttendancePayload,
    EnrollmentPayload,
)
from .settings import Settings


def queue_name(settings: Settings, queue: str) -> str:
    return f"{settings.queue_prefix}{queue}"


def celery_config(settings: Settings) -> dict[str, Any]:
    transport_options: dict[str, Any] = {
        # Longer than the hard task limit, so a running task is never handed to a second worker. A dead worker's
        # jobs do not wait for it: the sweeper sends them again once their lease is gone (within 2 minutes,
        # attendance_worker.job_state), and this late redelivery then finds the job finished or held.
        "visibility_timeout": settings.task_time_limit * 2 + 60,
    }
    if settings.broker_url.startswith("filesystem"):
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport_options.update(
            {
                "data_folder_in": str(folder / "queue"),
                "data_folder_out": str(folder / "queue"),
                "processed_folder": str(folder / "processed"),
                "control_folder": str(folder / "control"),
                "store_processed": False,
            }
        )
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": transport_options,
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 3,
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": 200,
        "task_soft_time_limit": settings.task_soft_time_limit,
        "task_time_limit": settings.task_time_limit,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_default_queue": queue_name(settings, "attendance"),
        "task_queues": [Queue(queue_name(settings, q)) for q in ALL_QUEUES],
        "task_routes": {name: {"queue": queue_name(settings, q)} for name, q in TASK_QUEUES.items()},
        "task_create_missing_queues": False,
        "worker_hijack_root_logger": False,
        "beat_schedule": {
            "sweep-stuck-jobs": {"task": SWEEP_TASK, "schedule": 60.0},
            "purge-old-photos": {"task": RETENTION_TASK, "schedule": 3600.0},
            # After a model change: a few portraits a minute, so a worker is never held up for long.
            "reembed-stale-portraits": {"task": REEMBED_TASK, "schedule": 60.0},
            # After migration 0005: hash the portraits stored before it, a batch a minute, until none are left.
            "hash-old-portraits": {"task": PORTRAIT_HASH_TASK, "schedule": 60.0},
        },
    }


def make_celery(settings: Settings) -> Celery:
    app = Celery("attendance")
    app.conf.update(celery_config(settings))
    return app


def enqueue(app: Celery, settings: Settings, payload: AttendancePayload | EnrollmentPayload) -> None:
    """Publish a job whose row is already committed; the task id is the job id."""
    name = ATTENDANCE_TASK if isinstance(payload, AttendancePayload) else ENROLLMENT_TASK
    app.send_task(
        name,
        kwargs=payload.model_dump(),
        task_id=payload.job_id,
        queue=queue_name(settings, TASK_QUEUES[name]),
        retry=True,
        retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 2},
    )


def queue_depths(settings: Settings) -> dict[str, int]:
    """Messages waiting per queue (Redis lists named after the prefixed queues); raises when Redis is unreachable.
    Empty without Redis (the embedded broker of `make run` has no lists to count)."""
    if not settings.redis_url:
        return {}
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    return {q: int(client.llen(queue_name(settings, q))) for q in ALL_QUEUES}
