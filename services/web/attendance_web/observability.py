"""Request ids, JSON request logs and Prometheus metrics for the web service."""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import func, select

from attendance_shared.logs import configure_logging, request_id
from attendance_shared.models import Job, JobState, SessionPhoto
from attendance_shared.queue import queue_depths

from .extensions import db

log = logging.getLogger("attendance.web.request")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "attendance_http_requests", "HTTP requests answered", ["method", "endpoint", "status"], registry=REGISTRY
)
LATENCY = Histogram(
    "attendance_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
JOB_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
FACE_BUCKETS = (0, 1, 2, 5, 10, 20, 40, 80, 150)


class DatabaseCollector:
    """Job durations, faces per photo and queue depth, read at scrape time from the shared state,
    so the figures are right however many gunicorn workers and Celery workers there are."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self):  # type: ignore[no-untyped-def]
        with self.app.app_context():
            session = db()
            states = GaugeMetricFamily("attendance_jobs", "Jobs by kind and state", labels=["kind", "state"])
            for kind, state, count in session.execute(
                select(Job.kind, Job.state, func.count()).group_by(Job.kind, Job.state)
            ):
                states.add_metric([kind.value, state.value], count)
            yield states
            durations = [
                (j.finished_at - j.started_at).total_seconds()
                for j in session.execute(
                    select(Job.started_at, Job.finished_at).where(
                        Job.state == JobState.SUCCEEDED, Job.started_at.is_not(None)
                    )
                )
                if j.finished_at and j.started_at
            ]
            yield _histogram("attendance_job_duration_seconds", "Duration of finished jobs", durations, JOB_BUCKETS)
            faces = [
                float(n or 0)
                for (n,) in session.execute(select(SessionPhoto.face_count).where(SessionPhoto.face_count.is_not(None)))
            ]
            yield _histogram("attendance_faces_per_photo", "Faces found per classroom photo", faces, FACE_BUCKETS)
            depth = GaugeMetricFamily("attendance_queue_depth", "Messages waiting per queue", labels=["queue"])
            for queue, count in _queue_depths(self.app).items():
                depth.add_metric([queue], count)
            yield depth


def _histogram(name: str, doc: str, values: list[float], buckets: tuple[float, ...]) -> HistogramMetricFamily:
    cumulative = [(str(b), sum(1 for v in values if v <= b)) for b in buckets] + [("+Inf", len(values))]
    metric = HistogramMetricFamily(name, doc)
    metric.add_metric([], cumulative, sum_value=float(sum(values)))
    return metric


def _queue_depths(app: Flask) -> dict[str, int]:
    try:
        return queue_depths(app.config["ATTENDANCE_SETTINGS"])
    except Exception:
        return {}


def register_observability(app: Flask) -> None:
    configure_logging("web")
    shared_state_registry = CollectorRegistry()
    shared_state_registry.register(DatabaseCollector(app))

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        g.request_token = request_id.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        LATENCY.labels(endpoint).observe(elapsed)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if endpoint not in ("health.healthz", "health.ready", "health.live", "metrics", "static"):
            log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={"status": response.status_code, "ms": round(elapsed * 1000, 1), "endpoint": endpoint},
            )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            request_id.reset(token)

    @app.route("/metrics", endpoint="metrics")
    def metrics() -> Response:
        """Prometheus text format. Set METRICS_TOKEN to require `Authorization: Bearer <token>`; production without
        one does not serve it (anyone on the internet could read the figures and load the database with them)."""
        token = os.environ.get("METRICS_TOKEN")
        if not token and app.config["ATTENDANCE_SETTINGS"].is_production:
            return Response("not found\n", status=404, mimetype="text/plain")
        sent = request.headers.get("Authorization", "")
        if token and not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return Response("metrics token required\n", status=401, mimetype="text/plain")
        body = generate_latest(REGISTRY) + generate_latest(shared_state_registry)
        return Response(body, mimetype=CONTENT_TYPE_LATEST)
