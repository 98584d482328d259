"""attendance-queue-metric: the queue depth the scaling alarm watches, read from Redis and put to CloudWatch
through boto3 against moto's server on loopback (the real CloudWatch cannot be reached from here)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import redis

from tests.conftest import REDIS_TEST_URL

BIN = Path(sys.executable).parent
REGION = "eu-west-1"


def test_queue_metric_publishes_the_depth_of_each_prefixed_queue(s3_server: str) -> None:
    prefix = f"qm{uuid.uuid4().hex[:8]}-"  # not this run's worker's queues: it would consume the stand-ins
    r = redis.Redis.from_url(REDIS_TEST_URL)
    r.rpush(f"{prefix}attendance", *[b"{}"] * 3)
    r.rpush(f"{prefix}enrollment", b"{}")
    env = {
        **os.environ,
        "REDIS_URL": REDIS_TEST_URL,
        "QUEUE_PREFIX": prefix,
        "AWS_REGION": REGION,
        "AWS_ENDPOINT_URL_CLOUDWATCH": s3_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    try:
        out = subprocess.run(
            [str(BIN / "attendance-queue-metric")], env=env, capture_output=True, text=True, timeout=60, check=True
        ).stdout
    finally:
        r.delete(f"{prefix}attendance", f"{prefix}enrollment")
    assert "attendance=3" in out and "enrollment=1" in out and "maintenance=0" in out

    cloudwatch = boto3.client(
        "cloudwatch",
        region_name=REGION,
        endpoint_url=s3_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    metrics = cloudwatch.list_metrics(Namespace="Attendance", MetricName="QueueDepth")["Metrics"]
    dimensions = {tuple((d["Name"], d["Value"]) for d in m.get("Dimensions", [])) for m in metrics}
    assert () in dimensions  # the total the documented alarm watches
    assert {(("Queue", "attendance"),), (("Queue", "enrollment"),), (("Queue", "maintenance"),)} <= dimensions


def test_queue_metric_refuses_without_redis() -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run([str(BIN / "attendance-queue-metric")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "REDIS_URL is not set" in done.stderr


def test_instance_cron_runs_it_in_the_worker_container() -> None:
    import yaml

    root = Path(__file__).resolve().parents[2]
    config = yaml.safe_load((root / ".ebextensions" / "06_queue_metric.config").read_text())
    line = config["files"]["/etc/cron.d/attendance-queue-metric"]["content"].strip()
    assert line.startswith("* * * * * root ")  # cron.d lines name their user
    assert "docker exec" in line and "attendance-queue-metric" in line and "%" not in line
