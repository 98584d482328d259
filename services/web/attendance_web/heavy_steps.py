"""At most HEAVY_AT_ONCE memory-heavy steps at a time in one web process: a photo decoded for the review page, a
report rendered as PDF or Excel. gunicorn's threads share their process's memory, and on the single instance (one
process of 8 threads held to 320 MiB: docs/deploy-aws.md) teachers opening 12 MP photos and reports at the same moment
pushed the web past its limit (bench/free_tier.py). The other requests wait their turn, a fraction of a second."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

HEAVY_AT_ONCE = 2
_turns = threading.BoundedSemaphore(HEAVY_AT_ONCE)


@contextmanager
def heavy_step() -> Iterator[None]:
    with _turns:
        yield
