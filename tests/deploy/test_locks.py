"""The lock files pin every dependency the images and the EB Python platform install.

Offline checks: every line is an exact pin; every dependency a pyproject.toml declares is in the
lock for that image, at a version the pyproject accepts (so a new or changed dependency fails here
until `tools/deploy_checks/lock.sh` is run); the GPU lock swaps onnxruntime for onnxruntime-gpu.
That the locks install on Python 3.11 and 3.12 is what lock.sh resolves for (--universal,
Python >= 3.11); checking it needs the network (`uv pip install --dry-run --only-binary :all: -r
requirements/<lock>` into a 3.11 and a 3.12 venv), so it is not part of these offline checks.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .conftest import ROOT

REQ = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:;\s*([^#]+?))?\s*(?:#.*)?$")
LOCKS = ["web.lock", "worker.lock", "worker-gpu.lock", "worker-models.lock", "eb-python.lock", "dev.lock"]
PY_ENVS = [{"python_version": v, "python_full_version": f"{v}.0"} for v in ("3.11", "3.12")]


def _pins(*locks: str) -> dict[str, list[tuple[Version, Marker | None]]]:
    """Pins by name; of several locks installed one after the other, the later one's pin of a name wins."""
    if len(locks) > 1:
        merged: dict[str, list[tuple[Version, Marker | None]]] = {}
        for one in locks:
            merged.update(_pins(one))
        return merged
    (lock,) = locks
    pins: dict[str, list[tuple[Version, Marker | None]]] = defaultdict(list)
    for line in (REQ / lock).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"{lock}: not an exact pin: {line!r}"
        pins[canonicalize_name(m.group(1))].append((Version(m.group(2)), Marker(m.group(3)) if m.group(3) else None))
    return pins


def _project_deps(*projects: str) -> list[Requirement]:
    reqs = []
    for project in projects:
        data = tomllib.loads((ROOT / "services" / project / "pyproject.toml").read_text())
        for dep in data["project"]["dependencies"]:
            req = Requirement(dep)
            if not canonicalize_name(req.name).startswith("attendance-"):
                reqs.append(req)
    return reqs


def _check(lock: str, reqs: list[Requirement], *, replaced: dict[str, str] | None = None, then: str = "") -> None:
    """Every requirement pinned in `lock` (plus `then`, a lock installed after it), at a version it accepts."""
    pins = _pins(lock, then) if then else _pins(lock)
    replaced = replaced or {}
    for req in reqs:
        name = canonicalize_name(req.name)
        name = canonicalize_name(replaced.get(name, name))
        assert name in pins, f"{lock} lacks {req} (run tools/deploy_checks/lock.sh)"
        for env in PY_ENVS:
            if req.marker and not req.marker.evaluate({**env, "sys_platform": "linux"}):
                continue
            chosen = [
                v for v, marker in pins[name] if marker is None or marker.evaluate({**env, "sys_platform": "linux"})
            ]
            assert len(chosen) == 1, f"{lock}: {name} has {len(chosen)} pins for Python {env['python_version']}"
            if name == canonicalize_name(req.name):
                assert req.specifier.contains(chosen[0], prereleases=True), (
                    f"{lock}: {name}=={chosen[0]} does not satisfy {req} (run tools/deploy_checks/lock.sh)"
                )


@pytest.mark.parametrize("lock", LOCKS)
def test_every_line_is_an_exact_pin_from_lock_sh(lock: str) -> None:
    text = (REQ / lock).read_text()
    assert text.startswith("# Pinned by tools/deploy_checks/lock.sh"), lock
    pins = _pins(lock)
    assert pins
    assert not any(name.startswith("attendance-") for name in pins), "the project's own packages are not in locks"
    assert "opencv-python" not in pins, "the GUI OpenCV build must not come in (insightface is --no-deps)"


def test_web_lock() -> None:
    _check("web.lock", _project_deps("shared", "web"))


def test_worker_lock() -> None:
    _check("worker.lock", [*_project_deps("shared", "worker"), Requirement("flower")])


def test_worker_gpu_lock_has_onnxruntime_gpu_instead() -> None:
    pins = _pins("worker-gpu.lock")
    assert "onnxruntime" not in pins and "onnxruntime-gpu" in pins
    _check(
        "worker-gpu.lock",
        [*_project_deps("shared", "worker"), Requirement("flower")],
        replaced={"onnxruntime": "onnxruntime-gpu"},
    )
    cpu = _pins("worker.lock")
    for name, versions in pins.items():
        if name in cpu and name != "onnxruntime-gpu":
            assert versions == cpu[name], f"{name}: the CPU and GPU worker images would differ"


def test_the_model_pack_builder_runs_in_the_worker_images_venv() -> None:
    """The image's `models` stage installs worker-models.lock (onnx) and the builder with --no-deps over the
    worker's venv: every dependency it has is there (onnxruntime as onnxruntime-gpu in the GPU image), at a version
    it accepts, and worker-models.lock moves nothing the worker's venv already has."""
    builder = _project_deps("worker/model_export")
    _check("worker.lock", builder, then="worker-models.lock")
    _check("worker-gpu.lock", builder, replaced={"onnxruntime": "onnxruntime-gpu"}, then="worker-models.lock")
    for lock in ("worker.lock", "worker-gpu.lock"):
        runtime = _pins(lock)
        for name, versions in _pins("worker-models.lock").items():
            assert name not in runtime or runtime[name] == versions, f"{name}: the models stage would move it"


def test_the_worker_runtime_locks_have_neither_onnx_nor_insightface() -> None:
    """onnx is the pack builder's (worker-models.lock), insightface the optional part (worker-nodeps.txt)."""
    for lock in ("worker.lock", "worker-gpu.lock"):
        pins = _pins(lock)
        assert "onnx" not in pins and "insightface" not in pins, lock
    assert "onnx" in _pins("worker-models.lock")


def test_eb_python_lock() -> None:
    # The Python platform's instance builds the model pack itself (.ebextensions/01_flask.config).
    _check("eb-python.lock", _project_deps("shared", "web", "worker", "worker/model_export"))


def test_dev_lock_covers_the_requirements_dev_file() -> None:
    reqs = [
        Requirement(line.split("#", 1)[0].strip())
        for line in (ROOT / "requirements-dev.txt").read_text().splitlines()
        if line.split("#", 1)[0].strip()
    ]
    _check("dev.lock", [*_project_deps("shared", "web", "worker", "worker/model_export"), *reqs])


def test_web_and_worker_images_agree_on_shared_dependencies() -> None:
    web, worker = _pins("web.lock"), _pins("worker.lock")
    for req in _project_deps("shared"):
        name = canonicalize_name(req.name)
        assert web[name] == worker[name], f"{name}: web and worker images pin different versions"


def test_insightface_is_pinned_and_its_runtime_dependencies_are_locked() -> None:
    """The optional part: pinned in worker-nodeps.txt; what it needs is in the dev venv's lock, and what the
    worker's lock lacks is named in the install command the worker gives when it is missing."""
    lines = [
        line.strip()
        for line in (REQ / "worker-nodeps.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["insightface==2.1"]
    from importlib import metadata

    try:
        requires = metadata.requires("insightface") or []
    except metadata.PackageNotFoundError:
        pytest.skip("insightface is not installed here")
    from attendance_worker.engine.insightface_wrappers import INSTALL

    dev, worker = _pins("dev.lock"), _pins("worker.lock")
    for dep in requires:
        req = Requirement(dep)
        if req.marker is not None:  # extras (gui, face3d, ...)
            continue
        name = canonicalize_name(req.name)
        if name == "opencv-python":
            assert "opencv-python-headless" in dev and "opencv-python-headless" in worker
            continue
        assert name in dev, f"insightface needs {req}; add it to requirements/dev.in"
        if name not in worker:
            assert f" {name} " in f" {INSTALL.split('&&')[0]} ", f"insightface needs {req}: name it in INSTALL"


def test_lock_inputs_exist() -> None:
    script = (ROOT / "tools" / "deploy_checks" / "lock.sh").read_text()
    for lock in LOCKS:
        source = lock.replace(".lock", ".in")
        assert (REQ / source).is_file(), source
        assert f"requirements/{source} requirements/{lock}" in script
    assert "--universal" in script and "--python-version 3.11" in script
    assert Path(REQ / "worker-nodeps.txt").is_file()
