"""The exact commands the containers run, started here as processes against PostgreSQL and Redis.

The commands are read out of docker-compose.yml (so this test and the file cannot drift): the
`migrate` one-shot, gunicorn serving main:app and the Celery worker. Only what must differ on a
shared test machine is changed: the bind address (a free loopback port instead of 0.0.0.0:5000),
the database (a scratch PostgreSQL database, dropped at the end), Redis database 13 with a queue
prefix, local photo storage in a temporary directory instead of the S3 store, and the model pack
path (the repo's models/default, built by `make models`, instead of the image's /opt/models/default).

Then a teacher signs up through the web (with CSRF tokens, as a browser does), creates a course,
adds a student, uploads a classroom photo, and the job must reach "succeeded" through the worker.
The beat command is started too (it must come up; its first periodic run is a minute away).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port, port_open

from .conftest import QUEUE_PREFIX, ROOT, dotenv, interpolate, service_env, unescape_compose

BIN = Path(sys.executable).parent
JOB_TIMEOUT = 120.0

pytestmark = pytest.mark.timeout(240)


def _compose_command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    assert isinstance(command, list), "use the exec (list) form, so the command is the same everywhere"
    return [unescape_compose(part) for part in command]


def _resolve(command: list[str]) -> list[str]:
    """Run the .venv's executable (gunicorn, flask, celery) for the command's first word."""
    exe = BIN / command[0]
    if exe.exists():
        return [str(exe), *command[1:]]
    return command


class Proc:
    """A started process with its output in a file; stopped (group and all) by stop()."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path, logdir: Path, preexec: Any = None
    ) -> None:
        self.name = name
        self.log_path = logdir / f"{name}.log"
        self._log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=preexec,  # e.g. into a memory cgroup (test_single_instance.py)
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=10)
        self._log.close()


def _wait(predicate, timeout: float, what: str, procs: list[Proc], interval: float = 0.3):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.popen.poll() is not None:
                raise AssertionError(
                    f"{p.name} exited with {p.popen.returncode} while waiting for {what}:\n{p.log()[-4000:]}"
                )
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    logs = "\n".join(f"--- {p.name} ---\n{p.log()[-3000:]}" for p in procs)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")


def _app_env(compose_env: dict[str, str], overrides: dict[str, str], *, local_storage: bool = True) -> dict[str, str]:
    """The service's compose environment (interpolated with .env.example), then the test's overrides.

    Every override must name a variable the compose file sets or the storage switch, so the test runs
    the same configuration the container gets, not a different one.
    """
    from .conftest import setting_names

    example = dotenv(ROOT / ".env.example")
    env = {k: interpolate(v, example) for k, v in compose_env.items()}
    for key in overrides:
        assert key in env or key in {"STORAGE_DIR", "INSTANCE_DIR"}, f"{key} is not set by docker-compose.yml"
    env.update(overrides)
    if local_storage:  # photos in STORAGE_DIR: no S3 bucket, endpoint or keys
        for key in ("S3_BUCKET", "S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.pop(key, None)
    # Start from this process's environment less every application setting (the main test suite's
    # conftest sets some for its own database), then add the container's.
    base = {k: v for k, v in os.environ.items() if k not in setting_names() and not k.startswith("CELERY")}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    base["PYTHONUNBUFFERED"] = "1"
    return {**base, **env}


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert m, "no csrf_token in the form:\n" + html[:1500]
    return m.group(1)


def _classroom_jpeg() -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 480), (200, 210, 220))
    draw = ImageDraw.Draw(img)
    for i in range(0, 640, 40):
        draw.rectangle([i, 300, i + 30, 420], fill=(90 + i % 120, 70, 60))
    draw.ellipse([280, 80, 360, 180], fill=(224, 188, 160))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _start_web(
    requests: Any, web_cmd: list[str], env: dict[str, str], tmp: Path, procs: list[Proc], preexec: Any = None
) -> str:
    """gunicorn with the container's command, on a free loopback port instead of 0.0.0.0:5000; its URL once
    /healthz answers 200."""
    port = free_port()
    web_cmd = [f"127.0.0.1:{port}" if part == "0.0.0.0:5000" else part for part in web_cmd]
    procs.append(Proc("gunicorn", _resolve(web_cmd), env, tmp, tmp, preexec))
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    _wait(healthy, 45, "/healthz 200", procs)
    return base


def _teacher_takes_attendance(
    requests: Any, base: str, procs: list[Proc], worker: Proc, photo: bytes | None = None
) -> None:
    """4. A teacher, through the web: sign up, course, student, classroom photo (`photo`, or a small drawn one);
    5. the job must succeed."""
    s = requests.Session()
    token = _csrf(s.get(f"{base}/signup", timeout=10).text)
    email = f"deploy-{uuid.uuid4().hex[:8]}@school.example.org"
    r = s.post(
        f"{base}/signup",
        data={"csrf_token": token, "name": "Deploy Check", "email": email, "password": "a long password 1",
              "confirm": "a long password 1"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert r.status_code == 303, r.text[:1000]  # to the sign-in page: sign-up does not sign in
    token = _csrf(s.get(f"{base}/login", timeout=10).text)
    r = s.post(
        f"{base}/login", data={"csrf_token": token, "email": email, "password": "a long password 1"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert r.status_code == 302, r.text[:1000]
    token = _csrf(s.get(f"{base}/", timeout=10).text)
    r = s.post(
        f"{base}/courses", data={"csrf_token": token, "name": "Deploy Biology"}, allow_redirects=False, timeout=10
    )
    assert r.status_code == 302 and "/courses/" in r.headers["Location"], r.text[:1000]
    course_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
    r = s.post(
        f"{base}/courses/{course_id}/students",
        data={"csrf_token": token, "name": "Ada Student", "student_number": "D-001"},
        allow_redirects=False, timeout=10,
    )  # fmt: skip
    assert r.status_code == 302 and "/students/" in r.headers["Location"], r.text[:1000]
    r = s.post(
        f"{base}/courses/{course_id}/sessions",
        data={"csrf_token": token, "date": "2026-11-24", "label": "Deploy check"},
        files={"photos": ("classroom.jpg", photo or _classroom_jpeg(), "image/jpeg")},
        allow_redirects=False, timeout=30,
    )  # fmt: skip
    assert r.status_code == 303, r.text[:1000]
    m = re.search(r"/jobs/([0-9a-f]+)$", r.headers["Location"])
    assert m, r.headers["Location"]
    job_id = m.group(1)

    # 5. The job completes through Redis and the worker.
    def finished() -> dict[str, Any] | None:
        data: dict[str, Any] = s.get(f"{base}/jobs/{job_id}.json", timeout=10).json()
        return data if data["state"] in ("succeeded", "failed") else None

    job = _wait(finished, JOB_TIMEOUT, f"job {job_id} to finish", procs, interval=0.5)
    assert job["state"] == "succeeded", f"{job}\n--- worker ---\n{worker.log()[-4000:]}"
    assert requests.get(f"{base}/healthz", timeout=5).status_code == 200


def test_migrate_gunicorn_and_worker_commands_serve_and_complete_a_job(
    compose: dict[str, Any], scratch_database: str, scratch_redis: str
) -> None:
    requests = pytest.importorskip("requests")
    services = compose["services"]
    model_pack = Path(os.environ.get("MODEL_PACK", ROOT / "models" / "default")).resolve()
    if not (model_pack / "manifest.json").is_file() and not (model_pack / "detector.onnx").is_file():
        pytest.fail(f"no model pack at {model_pack}: run `make models` (the worker image builds it at build time)")

    tmp = Path(tempfile.mkdtemp(prefix="attendance-deploytest-"))
    overrides = {
        "DATABASE_URL": scratch_database,
        "REDIS_URL": scratch_redis,
        "QUEUE_PREFIX": QUEUE_PREFIX,
        "STORAGE_DIR": str(tmp / "photos"),
        "INSTANCE_DIR": str(tmp / "instance"),
    }
    web_env = _app_env(service_env(services["web"]), overrides)
    migrate_env = _app_env(service_env(services["migrate"]), overrides)
    worker_env = _app_env(service_env(services["worker"]), {**overrides, "MODEL_PACK": str(model_pack)})

    procs: list[Proc] = []
    try:
        # 1. The one-shot migration, exactly as the `migrate` service runs it.
        migrate_cmd = _compose_command(services["migrate"])
        done = subprocess.run(
            _resolve(migrate_cmd), env=migrate_env, cwd=tmp, capture_output=True, text=True, timeout=90
        )
        assert done.returncode == 0, f"{migrate_cmd} failed:\n{done.stdout}\n{done.stderr}"

        # 2. gunicorn, on a free loopback port instead of 0.0.0.0:5000.
        web_cmd = _compose_command(services["web"])
        assert "0.0.0.0:5000" in web_cmd and web_cmd[-1] == "main:app"
        base = _start_web(requests, web_cmd, web_env, tmp, procs)
        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.json()["status"] == "ok"

        # 3. The worker command, through the shell as in the container (its $QUEUE_PREFIX and
        #    ${WORKER_CONCURRENCY:-1} are expanded by sh).
        worker = Proc("worker", _compose_command(services["worker"]), worker_env, tmp, tmp)
        procs.append(worker)
        _wait(lambda: "ready." in worker.log(), 90, "the worker to be ready", procs)

        # 3b. The beat scheduler's command (its schedule file in the tmp dir, not the image's path).
        beat_cmd = _compose_command(services["beat"])
        schedule = beat_cmd.index("--schedule") + 1
        beat_cmd[schedule] = str(tmp / "celerybeat-schedule")
        beat = Proc("beat", _resolve(beat_cmd), _app_env(service_env(services["beat"]), overrides), tmp, tmp)
        procs.append(beat)
        _wait(lambda: "beat: Starting..." in beat.log(), 30, "beat to start", procs)

        _teacher_takes_attendance(requests, base, procs, worker)
    finally:
        for p in reversed(procs):
            p.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_s3_init_command_creates_the_bucket_once(compose: dict[str, Any]) -> None:
    """The compose `s3-init` one-shot, against an S3-API server on loopback (moto), run twice: idempotent."""
    boto3 = pytest.importorskip("boto3")
    moto_server = BIN / "moto_server"
    if not moto_server.exists():
        pytest.skip("moto_server is not installed (moto[server] in requirements-dev.txt)")
    service = compose["services"]["s3-init"]
    port = free_port()
    tmp = Path(tempfile.mkdtemp(prefix="attendance-deploytest-s3-"))
    env = _app_env(service_env(service), {"S3_ENDPOINT_URL": f"http://127.0.0.1:{port}"}, local_storage=False)
    server = Proc("moto", [str(moto_server), "-H", "127.0.0.1", "-p", str(port)], env, tmp, tmp)
    try:
        _wait(lambda: port_open(port), 30, "the S3 server", [server])
        command = _resolve(_compose_command(service))
        for _ in range(2):
            done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stdout + done.stderr
            assert f"bucket {env['S3_BUCKET']} ready" in done.stdout
        s3 = boto3.client(
            "s3",
            endpoint_url=env["S3_ENDPOINT_URL"],
            region_name=env["AWS_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        assert env["S3_BUCKET"] in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
