"""Publish how many jobs wait in each queue to CloudWatch (namespace Attendance, metric QueueDepth).

`attendance-queue-metric`, run once a minute inside the worker container by the instance's cron
(.ebextensions/06_queue_metric.config; on EB's Python platform, which has neither containers nor cron, by the
Procfile's `metric` process), so it has the environment's REDIS_URL, QUEUE_PREFIX and AWS_REGION.
The alarm on it scales the workers out, and pages when the queue grows because no worker takes jobs
(docs/deploy-aws.md, "Queue-depth alarm"). A cron entry on the instance, not one typed in by hand, survives
the instance being replaced.
"""

from __future__ import annotations

import sys
from typing import Any

NAMESPACE = "Attendance"
METRIC = "QueueDepth"


def publish(settings: Any, cloudwatch: Any = None) -> dict[str, int]:
    """Read the depths and put one datapoint per queue (dimension Queue) plus the attendance queue's undimensioned
    total that the documented alarm watches; returns the depths."""
    from attendance_shared.queue import queue_depths

    depths = queue_depths(settings)
    if cloudwatch is None:
        import boto3

        cloudwatch = boto3.client("cloudwatch", region_name=settings.aws_region or None)
    data = [{"MetricName": METRIC, "Value": float(depths.get("attendance", 0)), "Unit": "Count"}]
    data += [
        {"MetricName": METRIC, "Dimensions": [{"Name": "Queue", "Value": q}], "Value": float(n), "Unit": "Count"}
        for q, n in sorted(depths.items())
    ]
    cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data)
    return depths


def main(argv: list[str] | None = None) -> int:
    from attendance_shared.settings import get_settings

    settings = get_settings()
    if not settings.redis_url:
        print("attendance-queue-metric: REDIS_URL is not set; nothing to measure", file=sys.stderr)
        return 2
    depths = publish(settings)
    print(" ".join(f"{q}={n}" for q, n in sorted(depths.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
