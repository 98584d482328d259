"""Test infrastructure: real PostgreSQL, Redis, an S3-API server on loopback and a real Celery worker.

Each run gets its own PostgreSQL database (migrated with Alembic, never create_all), its own Redis
database number and queue prefix, and its own photo directory, so runs never see each other's data.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUN_ID = uuid.uuid4().hex[:8]
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
TEST_DB = f"attendance_test_{RUN_ID}"
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TMP = Path(tempfile.mkdtemp(prefix=f"attendance-test-{RUN_ID}-"))


def _pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


def facedata_dir() -> Path:
    return Path(os.environ.get("FACEDATA_DIR", ROOT.parent / "shared" / "facedata")).resolve()


def require_facedata() -> Path:
    """The real-photo tests: skipped on a laptop without ../shared/facedata, a failure in CI."""
    path = facedata_dir()
    if not (path / "lfw").is_dir():
        reason = f"face photos not found at {path} (set FACEDATA_DIR, or place the shared folder beside the repo)"
        if os.environ.get("REQUIRE_FACEDATA") == "1":
            pytest.fail(reason + "; REQUIRE_FACEDATA=1 makes this a failure")
        pytest.skip(reason)
    return path


def _admin_exec(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def pytest_configure(config: pytest.Config) -> None:
    """Point every process of this run (the app and the worker) at this run's databases via the env."""
    os.environ.update(
        {
            "FLASK_ENV": "testing",
            "DATABASE_URL": _pg_url(TEST_DB),
            "REDIS_URL": REDIS_TEST_URL,
            "QUEUE_PREFIX": f"t{RUN_ID}-",
            "INSTANCE_DIR": str(TMP / "instance"),
            "STORAGE_DIR": str(TMP / "photos"),
            "SECRET_KEY": "test-secret-key",
            "MODEL_PACK": str(Path(os.environ.get("MODEL_PACK", ROOT / "models" / "default")).resolve()),
            "TASK_MAX_RETRIES": "2",
        }
    )
    os.environ.pop("S3_BUCKET", None)
    if hasattr(config, "workerinput"):
        return
    _admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
    _admin_exec(f'CREATE DATABASE "{TEST_DB}"')
    from attendance_shared import migrate
    from attendance_shared.settings import get_settings

    get_settings.cache_clear()
    migrate.upgrade(_pg_url(TEST_DB))


def pytest_unconfigure(config: pytest.Config) -> None:
    from attendance_shared.db import engine_for

    for url in (_pg_url(TEST_DB), os.environ.get("DATABASE_URL", "")):
        try:
            engine_for(url).dispose()
        except Exception:
            pass
    try:
        _admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
    except Exception:
        pass
    _drop_run_keys()
    shutil.rmtree(TMP, ignore_errors=True)


def _drop_run_keys() -> None:
    """Messages no worker consumed (tests that only enqueue) and rate-limit counters of this run."""
    try:
        import redis

        r = redis.Redis.from_url(REDIS_TEST_URL)
        for key in r.scan_iter(match=f"*t{RUN_ID}-*", count=500):
            r.delete(key)
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:port (a server we started is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, a grace period for a clean shutdown, then SIGKILL: no test leaves a server behind."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


# --- the web app ----------------------------------------------------------------------------------


@pytest.fixture()
def app():
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    flask_app = create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    yield flask_app


@pytest.fixture()
def client(app):
    return app.test_client()


class TeacherClient:
    """A logged-in teacher driving the app the way a browser does."""

    def __init__(self, client, email: str, password: str = "correct horse battery") -> None:
        self.client = client
        self.email = email
        self.password = password

    def signup(self, name: str = "Teacher") -> TeacherClient:
        r = self.client.post(
            "/signup", data={"name": name, "email": self.email, "password": self.password, "confirm": self.password}
        )
        assert r.status_code == 302, r.data[:500]
        return self

    def create_course(self, name: str = "Biology") -> int:
        r = self.client.post("/courses", data={"name": name})
        assert r.status_code == 302
        return int(r.location.rstrip("/").rsplit("/", 1)[-1])

    def add_student(self, course_id: int, name: str, number: str) -> int:
        r = self.client.post(f"/courses/{course_id}/students", data={"name": name, "student_number": number})
        assert r.status_code == 302, r.data[:300]
        return int(r.location.rstrip("/").rsplit("/", 1)[-1])

    def upload_portraits(self, student_id: int, *paths_or_bytes) -> None:
        files = [_file(p) for p in paths_or_bytes]
        r = self.client.post(
            f"/students/{student_id}/photos", data={"photos": files}, content_type="multipart/form-data"
        )
        assert r.status_code == 303

    def take_attendance(self, course_id: int, *photos, date: str = "2026-11-24", label: str = "Period 1") -> str | None:
        files = [_file(p) for p in photos]
        r = self.client.post(
            f"/courses/{course_id}/sessions",
            data={"date": date, "label": label, "photos": files},
            content_type="multipart/form-data",
        )
        assert r.status_code == 303
        m = re.search(r"/jobs/([0-9a-f]+)$", r.location)
        return m.group(1) if m else None

    def job(self, job_id: str) -> dict:
        r = self.client.get(f"/jobs/{job_id}.json")
        assert r.status_code == 200
        return r.get_json()

    def wait_job(self, job_id: str, timeout: float = 180) -> dict:
        return wait_for(lambda: (j := self.job(job_id))["done"] and j, timeout, 0.5, f"job {job_id}")


def _file(p):
    import io

    if isinstance(p, (str, Path)):
        return (io.BytesIO(Path(p).read_bytes()), Path(p).name)
    data, name = p
    return (io.BytesIO(data), name)


@pytest.fixture()
def teacher_factory(app):
    def make(name: str = "Teacher") -> TeacherClient:
        return TeacherClient(app.test_client(), f"{name.lower()}-{uuid.uuid4().hex[:8]}@school.example.org").signup(
            name
        )

    return make


@pytest.fixture()
def teacher(teacher_factory) -> TeacherClient:
    return teacher_factory("Alice")


# --- a real worker --------------------------------------------------------------------------------


@pytest.fixture()
def jobs_not_sent(monkeypatch):
    """Jobs are created (rows, committed) but not sent to the broker, for tests that write "what the worker
    would write" by hand: the worker fixture is session-wide, so a worker started by an earlier test would
    otherwise process these jobs and overwrite the hand-written state."""
    import attendance_web.jobs_service

    monkeypatch.setattr(attendance_web.jobs_service, "publish", lambda job: True)


@pytest.fixture(scope="session")
def celery_worker_process() -> Iterator[subprocess.Popen]:
    """A real `celery worker` process consuming this run's queues from Redis."""
    from attendance_shared.contracts import ALL_QUEUES
    from attendance_worker.engine.runtime import with_malloc_tunables

    prefix = os.environ["QUEUE_PREFIX"]
    log = open(TMP / "worker.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "celery"), "-A", "attendance_worker.celery_app", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--hostname", f"test-{RUN_ID}@%h", "--queues", ",".join(prefix + q for q in ALL_QUEUES)],
        env=with_malloc_tunables(os.environ), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        wait_for(
            lambda: proc.poll() is not None or b"ready." in (TMP / "worker.log").read_bytes(), 90, 0.3, "worker ready"
        )
        if proc.poll() is not None:
            raise AssertionError("worker exited:\n" + (TMP / "worker.log").read_text()[-3000:])
        yield proc
    finally:
        stop_process(proc)
        log.close()


def worker_log() -> str:
    path = TMP / "worker.log"
    return path.read_text(errors="replace") if path.exists() else ""


# --- S3 -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's standalone S3-API server, as its own process on loopback (boto3 talks real HTTP to it)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: port_open(port), 30, 0.2, "moto server")
        yield url
    finally:
        stop_process(proc, timeout=10)
