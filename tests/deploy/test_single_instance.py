"""The free tier's configuration (eb_bundle.py --single-instance), run for real: its web and worker commands, each
in a memory cgroup with its container's hard limit inside one of 1 GiB (a t3.micro), serve a teacher and complete a
12 MP classroom photo's job with the beat inside the worker, and the kernel counts no OOM kill.

The commands are the single-instance Dockerrun's (derived from Dockerrun.aws.json by eb_bundle.single_instance);
the environment is docker-compose.yml's, changed only as test_container_commands.py changes it. Where no memory
cgroup can be made (not root, no memory controller) the commands still run and the memory part is skipped with a
note. The school-sized burst inside the same limits is `python -m bench.free_tier` (docs/benchmarks.md).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest

from .conftest import QUEUE_PREFIX, ROOT, service_env
from .test_container_commands import Proc, _app_env, _resolve, _start_web, _teacher_takes_attendance, _wait

pytestmark = pytest.mark.timeout(300)

INSTANCE_MIB = 1024  # a t3.micro


def _twelve_megapixel_classroom() -> bytes | None:
    """Solvay 1927 (29 faces) upscaled to 4000x3000, as a phone's photo of a class; None without the face data."""
    from PIL import Image

    source = ROOT.parent / "shared" / "facedata" / "groups" / "solvay1927" / "solvay1927.jpg"
    if not source.is_file():
        return None
    img = Image.open(source).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_single_instance_commands_take_attendance_within_1_gib(
    compose: dict[str, Any], dockerrun: dict[str, Any], scratch_database: str, scratch_redis: str
) -> None:
    requests = pytest.importorskip("requests")
    from tools.deploy_checks import eb_bundle, image_env
    from tools.deploy_checks.memory_cage import CageUnavailable, MemoryCage

    single = {c["name"]: c for c in eb_bundle.single_instance(dockerrun)["containerDefinitions"]}
    services = compose["services"]
    model_pack = Path(os.environ.get("MODEL_PACK", ROOT / "models" / "default")).resolve()
    if not (model_pack / "manifest.json").is_file():
        pytest.fail(f"no model pack at {model_pack}: run `make models`")
    try:
        cage: MemoryCage | None = MemoryCage(
            INSTANCE_MIB, {"web": single["web"]["memory"], "worker": single["worker"]["memory"]}
        )
    except CageUnavailable as exc:
        cage = None
        warnings.warn(f"the commands run, but their memory is not checked here: {exc}", stacklevel=1)

    tmp = Path(tempfile.mkdtemp(prefix="attendance-single-"))
    overrides = {
        "DATABASE_URL": scratch_database,
        "REDIS_URL": scratch_redis,
        "QUEUE_PREFIX": QUEUE_PREFIX,
        "STORAGE_DIR": str(tmp / "photos"),
        "INSTANCE_DIR": str(tmp / "instance"),
    }
    procs: list[Proc] = []
    try:
        migrate = _resolve(single["migrate"]["command"])
        done = subprocess.run(
            migrate, env=_app_env(service_env(services["migrate"]), overrides), cwd=tmp, capture_output=True,
            text=True, timeout=90,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

        web_cmd = single["web"]["command"]
        assert web_cmd[web_cmd.index("--threads") + 1] == "8"
        web_env = {**image_env.runtime_env("web"), **_app_env(service_env(services["web"]), overrides)}
        base = _start_web(requests, web_cmd, web_env, tmp, procs, cage.enter("web") if cage else None)

        # The worker with its beat, through the shell as in the container; the schedule file in the tmp dir.
        *shell, line = single["worker"]["command"]
        worker_cmd = [*shell, line.replace(eb_bundle.BEAT_SCHEDULE, str(tmp / "schedule"))]
        worker_env = image_env.runtime_env("worker") | _app_env(
            service_env(services["worker"]),
            {**overrides, "MODEL_PACK": str(model_pack), "RECOGNIZER_PRECISION": "fp32"},  # the heavier recognizer
        )
        worker = Proc("worker", worker_cmd, worker_env, tmp, tmp, cage.enter("worker") if cage else None)
        procs.append(worker)
        _wait(lambda: "ready." in worker.log() and "beat: Starting..." in worker.log(), 120, "worker and beat", procs)

        _teacher_takes_attendance(requests, base, procs, worker, _twelve_megapixel_classroom())
        assert all(p.popen.poll() is None for p in procs), "a process ended (killed?)"
        if cage is not None:
            report = {name: cage.report(path) for name, path in [*cage.children.items(), ("whole", cage.root)]}
            print(json.dumps(report))
            assert all(r["oom_kills"] == 0 for r in report.values()), report
            # A cgroup never goes past its own limit (the kernel reclaims or kills first): what can fail is the margin.
            for name in ("web", "worker"):
                assert report[name]["peak_mib"] <= 0.9 * single[name]["memory"], report
            assert len(cage.pids("worker")) >= 3, "the worker's main process, its pool process and the beat"
    finally:
        for p in reversed(procs):
            p.stop()
        if cage is not None:
            cage.remove()
        shutil.rmtree(tmp, ignore_errors=True)


def _spin_in(cage: Any, names: tuple[str, ...], seconds: float, cpu: int | None = None) -> None:
    """One busy process in each named child for `seconds`, all on `cpu` when given."""
    spin = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"

    def preexec(name: str) -> Any:
        enter = cage.enter(name)
        return lambda: (enter(), cpu is not None and os.sched_setaffinity(0, {cpu}))

    spinners = [subprocess.Popen([sys.executable, "-c", spin], preexec_fn=preexec(name)) for name in names]
    for spinner in spinners:
        assert spinner.wait(30) == 0


def test_the_cage_holds_the_whole_to_its_share_and_counts_cpu_time() -> None:
    """bench.free_tier --cpus 0.2 stands for a t3.micro whose credits are spent: the cage's quota must hold busy
    processes to that share of the CPUs and count the CPU time each used, as the bench reports it (CPU credits)."""
    from tools.deploy_checks.memory_cage import CageUnavailable, MemoryCage

    try:
        cage = MemoryCage(256, {"web": 128, "worker": 128}, cpus=0.2)
    except CageUnavailable as exc:
        pytest.skip(f"no cgroup with CPU controllers here: {exc}")
    try:
        _spin_in(cage, ("web", "worker"), 2)
        web, worker, whole = cage.cpu_seconds("web"), cage.cpu_seconds("worker"), cage.cpu_seconds()
        throttled = cage.throttled()
    finally:
        cage.remove()
    assert web is not None and worker is not None and whole is not None and throttled is not None
    assert 0.2 < web + worker <= whole + 1e-6 < 0.2 * 2 + 0.2  # two spinners alone would have used 4 s
    assert throttled["throttled_periods"] > 0


def test_the_cage_shares_the_cpu_by_the_containers_units() -> None:
    """Dockerrun's cpu units become the cage's CPU shares, as Docker makes them: of two busy processes waiting for
    one CPU, the web's (1024 units) gets about four times the worker's (256)."""
    from tools.deploy_checks.memory_cage import CageUnavailable, MemoryCage

    try:
        cage = MemoryCage(256, {"web": 128, "worker": 128}, cpu_shares={"web": 1024, "worker": 256})
    except CageUnavailable as exc:
        pytest.skip(f"no cgroup with CPU controllers here: {exc}")
    try:
        _spin_in(cage, ("web", "worker"), 1.5, cpu=min(os.sched_getaffinity(0)))
        web, worker = cage.cpu_seconds("web"), cage.cpu_seconds("worker")
    finally:
        cage.remove()
    assert web is not None and worker is not None
    assert web > 2 * worker, (web, worker)


def test_the_benchs_health_checks_time_out_as_docker_and_ecs_would(dockerrun: dict[str, Any]) -> None:
    """The free-tier bench counts a health check that outlives its --timeout as failed: the web's timing in the
    image (Docker) and in the task definition (what ECS acts on) must be the same one."""
    from tools.deploy_checks import image_env

    web = next(c for c in dockerrun["containerDefinitions"] if c["name"] == "web")["healthCheck"]
    timing = image_env.healthcheck_timing("web")
    assert (timing["interval"], timing["timeout"], timing["retries"]) == (
        web["interval"],
        web["timeout"],
        web["retries"],
    )
    assert image_env.healthcheck_timing("worker")["timeout"] == 30
