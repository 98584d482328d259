"""JSON logs on stdout (CloudWatch-friendly), each line carrying the request id or job id it belongs to."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO
from urllib.parse import unquote, urlsplit

from pythonjsonlogger.json import JsonFormatter

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)

# Never let a secret reach a log line, whatever a library decides to print.
_SECRET_ENV = ("SECRET_KEY", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL", "REDIS_URL", "METRICS_TOKEN")
MIN_URL_PASSWORD = 12
# Terminal colour codes (werkzeug styles its own lines): raw escapes in a JSON line are noise, in a console and in
# CloudWatch alike. Matched as JSON writes them, on the finished line.
_JSON_ANSI_ESCAPE = re.compile(r"\\u001b\[[0-9;]*[A-Za-z]")


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """The secrets of the environment as they may appear in a log line: whole values, and the password inside a
    URL (a driver prints the URL in its own form, e.g. postgresql+psycopg2://, or only host and password);
    each also as JSON escapes it. Longest first, so a URL goes before the password inside it."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name in _SECRET_ENV:
        value = env.get(name)
        if not value:
            continue
        if len(value) >= 8:
            found.add(value)
        parts = urlsplit(value) if "://" in value else None
        password = parts.password if parts else None
        # A short or everyday password (compose's default "attendance", which is also the user and the database
        # name) would blank out ordinary words such as logger names; a real one is long and random.
        everyday = parts is not None and password in (parts.username, parts.path.lstrip("/"))
        if password and len(password) >= MIN_URL_PASSWORD and not everyday:
            found.update({password, unquote(password)})
    found |= {json.dumps(v)[1:-1] for v in found}
    return sorted(found, key=len, reverse=True)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        return True


class RedactingJsonFormatter(JsonFormatter):
    """Redacts on the finished line, so the message, its arguments and any traceback are all covered; drops
    terminal colour codes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._secrets = secret_values()

    def format(self, record: logging.LogRecord) -> str:
        line = _JSON_ANSI_ESCAPE.sub("", super().format(record))
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, "[redacted]")
        return line


def json_handler(service: str, stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        RedactingJsonFormatter(
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
