"""The model-pack builder (services/worker/model_export) and the worker's runtime never import each other.

The worker image's runtime stage has no builder in it, and the Elastic Beanstalk Python platform runs the builder
on an instance without insightface: each must import with the other missing.
"""

from __future__ import annotations

import subprocess
import sys


def _imports_without(missing: str, *modules: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.modules[{missing!r}] = None\n" + "\n".join(f"import {m}" for m in modules)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_worker_runs_without_the_pack_builder():
    done = _imports_without(
        "attendance_model_export", "attendance_worker.tasks", "attendance_worker.cli", "attendance_worker.reembed"
    )
    assert done.returncode == 0, done.stderr


def test_the_pack_builder_runs_without_the_worker():
    done = _imports_without("attendance_worker", "attendance_model_export.build", "attendance_model_export.quantize")
    assert done.returncode == 0, done.stderr
