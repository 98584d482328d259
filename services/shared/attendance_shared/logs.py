"""JSON logs on stdout (CloudWatch-friendly), each line carrying the request id or job id it belongs to."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

# Never let a secret reach a log line, whatever a library decides to print.
_SECRET_ENV = ("SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "REDIS_URL")


class ContextFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._secrets = [v for k in _SECRET_ENV if (v := os.environ.get(k)) and len(v) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        if self._secrets:
            message = record.getMessage()
            if any(s in message for s in self._secrets):
                for secret in self._secrets:
                    message = message.replace(secret, "[redacted]")
                record.msg, record.args = message, None
        return True


def json_handler(service: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(job_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(service: str, level: str | None = None) -> None:
    """Idempotent: one JSON handler on the root logger."""
    root = logging.getLogger()
    if any(getattr(h, "_attendance", False) for h in root.handlers):
        return
    handler = json_handler(service)
    handler._attendance = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
