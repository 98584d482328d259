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
        self.web_pid = 0
        self.access_log = self.tmp / "access.log"  # METHOD PATH STATUS MICROSECONDS, one line per request
        self.web_log = self.tmp / "web.log"  # the app's JSON log lines (each request with its "ms")

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
        # The Procfile's flags; its access log goes to a file here, with the time gunicorn spent per request.
        cmd = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
               "--timeout", "120", "--access-logfile", str(self.access_log), "--access-logformat",
               "%(m)s %(U)s %(s)s %(D)s", "main:app"]  # fmt: skip
        log = self.web_log.open("wb")
        proc = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        self.web_pid = proc.pid
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


CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields after "pid (comm)": state is [0], ppid [1]


def process_tree(root: int) -> list[int]:
    """root and all its descendants (gunicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def pids_named(*names: str) -> list[int]:
    """Processes whose command name is one of names (PostgreSQL's and Redis's servers)."""
    out = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() in names:
                out.append(int(entry.name))
        except OSError:
            pass
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time these processes have used so far (utime, stime in /proc/PID/stat)."""
    total = 0
    for pid in pids:
        if fields := _stat(pid):
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / CLK_TCK, sum(values[:8]) / CLK_TCK


class CpuMeter:
    """CPU used during a measured window: the web server's processes, the load generator (this process and
    its finished children, e.g. wrk), and the whole machine, so every figure comes with what else ran."""

    def __init__(self, web_pid: int) -> None:
        self.web_pid = web_pid

    def _sample(self) -> dict[str, float]:
        busy, total = machine_cpu()
        t = os.times()
        return {
            "web": cpu_seconds(process_tree(self.web_pid)),
            "client": t.user + t.system + t.children_user + t.children_system,
            "db": self._db_cpu(),
            "busy": busy,
            "total": total,
            "wall": time.monotonic(),
        }

    def _db_cpu(self) -> float:
        """PostgreSQL's and Redis's CPU, counted only for processes alive at both ends of the window
        (a backend that ends in between is missed: a lower bound)."""
        now = {pid: cpu_seconds([pid]) for pid in pids_named("postgres", "redis-server")}
        if not hasattr(self, "_db_start"):
            self._db_start = now
            return 0.0
        return sum(cpu - self._db_start[pid] for pid, cpu in now.items() if pid in self._db_start)

    def start(self) -> None:
        self.load_before = os.getloadavg()
        self.before = self._sample()

    def stop(self) -> dict[str, object]:
        after = self._sample()
        d = {k: after[k] - self.before[k] for k in after}
        other = d["busy"] - d["web"] - d["client"] - d["db"]
        return {
            "load_average_before": [round(v, 2) for v in self.load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "cores": os.cpu_count(),
            "cpu_s_web": round(d["web"], 1),
            "cpu_s_client": round(d["client"], 1),
            "cpu_s_postgres_redis": round(d["db"], 1),
            "cpu_s_other": round(other, 1),  # anything else on the machine (other users' jobs)
            "machine_busy_pct": round(100 * d["busy"] / d["total"], 1) if d["total"] else None,
        }


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
    # Sign-up does not sign in (it never says whether the address had an account): sign in, as a teacher does.
    token = csrf_token(s, base + "/login")
    r = s.post(base + "/login", data={"csrf_token": token, "email": email, "password": password}, timeout=10)
    r.raise_for_status()
    assert not r.url.rstrip("/").endswith("/login"), "sign-in refused"
    return s


def csrf_token(s: requests.Session, url: str) -> str:
    page = s.get(url, timeout=10).text
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
