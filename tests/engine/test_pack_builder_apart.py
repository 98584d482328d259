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


def test_the_worker_runtime_never_imports_onnx_or_insightface(pack_dir, facedata):
    """The worker image has neither (onnx is the pack builder's, insightface the optional part for insightface-format
    packs): importing the worker and running the default pack on a real photo, alignment and embedding included,
    imports neither."""
    photo = facedata / "groups/obama_biden/class/two_people.jpg"
    code = f"""
import sys
import attendance_worker.celery_app, attendance_worker.tasks, attendance_worker.cli, attendance_worker.reembed
from attendance_worker.engine import Engine
analysis = Engine.load({str(pack_dir)!r}).analyze(open({str(photo)!r}, "rb").read(), "two_people.jpg")
assert len([f for f in analysis.faces if f.embedding is not None]) == 2, analysis.faces
print(sorted(m for m in sys.modules if m.split(".")[0] in ("onnx", "insightface")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_insightface_pack_without_insightface_says_what_to_install(tmp_path):
    for name in ("det_10g.onnx", "w600k_r50.onnx"):
        (tmp_path / name).write_bytes(b"not read: insightface is looked for first")
    code = f"""
import sys
sys.modules["insightface"] = None
from attendance_worker.engine import Engine, ModelPackError
try:
    Engine.load({str(tmp_path)!r})
except ModelPackError as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    said = done.stdout
    assert str(tmp_path) in said and "insightface's format" in said
    assert "pip install onnx tqdm requests scipy scikit-image && pip install --no-deps insightface==2.1" in said
    assert "make models" in said
