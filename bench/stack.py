"""A private, production-shaped stack for load benchmarks: its own PostgreSQL database, Redis DB and
queue prefix, photos on local disk, gunicorn serving main:app, and real Celery worker processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
QUEUES = ("attendance", "enrollment", "maintenance")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, redis_db: int = 12) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.db = f"attendance_bench_{self.run_id}"
        self.tmp = Path(tempfile.mkdtemp(prefix="attendance-bench-"))
        self.prefix = f"b{self.run_id}-"
        self.env = dict(os.environ)
        self.env.update(
            {
                # Production-shaped servers, but plain HTTP on loopback: secure-only cookies would not be sent.
                "FLASK_ENV": "development",
                "SECRET_KEY": "bench-secret",
                # 50 teachers from one loopback address: per-address sign-up limits would stop the benchmark.
                "RATELIMIT_ENABLED": "false",
                # As in the web image and on EB (override to compare, e.g. GUNICORN_CMD_ARGS="--threads 1").
                "GUNICORN_CMD_ARGS": os.environ.get("GUNICORN_CMD_ARGS", "--threads 4"),
                "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + "/" + self.db,
                "REDIS_URL": f"redis://127.0.0.1:6379/{redis_db}",
                "QUEUE_PREFIX": self.prefix,
                "INSTANCE_DIR": str(self.tmp / "instance"),
                "STORAGE_DIR": str(self.tmp / "photos"),
                "MODEL_PACK": str((REPO / "models" / "default").resolve()),
            }
        )
        self.procs: list[subprocess.Popen] = []
        self.port = 0

    def _admin(self, sql: str) -> None:
        engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(sql))
        engine.dispose()

    def __enter__(self) -> Stack:
        self._admin(f'CREATE DATABASE "{self.db}"')
        subprocess.run(
            [sys.executable, "-m", "attendance_shared.migrate", "upgrade"], env=self.env, check=True, cwd=REPO
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
        try:
            import redis

            r = redis.Redis.from_url(self.env["REDIS_URL"])
            for key in r.scan_iter(match=f"*{self.prefix}*"):
                r.delete(key)
        except Exception:
            pass
        self._admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(self.tmp)], check=False)

    def start_web(self, workers: int = 3) -> str:
        """Exactly the Procfile's server (gunicorn main:app), on a free loopback port."""
        self.port = free_port()
        cmd = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "main:app"]
        self.procs.append(
            subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(base + "/healthz", timeout=2).status_code == 200:
                    return base
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not become healthy")

    def start_worker(self, cpu: int | None = None, threads: int = 1) -> subprocess.Popen:
        """A worker process (one task at a time), returned once it has loaded its models and is consuming."""
        env = dict(self.env, ORT_INTRA_OP_THREADS=str(threads), ORT_INTER_OP_THREADS="1")
        cmd = [
            str(BIN / "celery"), "-A", "attendance_worker.celery_app", "worker", "--concurrency", "1",
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
            "--hostname", f"bench-{uuid.uuid4().hex[:6]}@%h", "--queues", ",".join(self.prefix + q for q in QUEUES),
        ]  # fmt: skip
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        log = self.tmp / f"worker-{uuid.uuid4().hex[:6]}.log"
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT)
        self.procs.append(proc)
        deadline = time.time() + 120
        while b"ready." not in log.read_bytes():
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("worker did not start:\n" + log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
        return proc

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        self.procs.clear()


def signup(base: str, email: str, password: str = "bench password 123") -> requests.Session:
    """A logged-in browser-like session (CSRF token read from the form, as a browser would)."""
    s = requests.Session()
    page = s.get(base + "/signup", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = s.post(
        base + "/signup",
        data={"csrf_token": token, "name": "Bench", "email": email, "password": password, "confirm": password},
        timeout=10,
    )
    r.raise_for_status()
    return s


def csrf_token(s: requests.Session, url: str) -> str:
    page = s.get(url, timeout=10).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
