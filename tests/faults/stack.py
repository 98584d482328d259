"""Private servers and workers for fault tests: they stop and start their own instances, never the shared ones."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.conftest import BIN, ROOT, free_port, stop_process, wait_for


def _require_binary(found: bool, what: str) -> None:
    """On a laptop that runs PostgreSQL and Redis in containers, these fault tests skip; CI has the binaries."""
    if not found:
        import pytest

        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} is not installed; the fault tests need it in CI")
        pytest.skip(f"{what} is not installed here (fault tests start their own instance)")


class PrivateRedis:
    """redis-server on its own port, nothing kept on disk: a restart loses every queued message."""

    def __init__(self) -> None:
        _require_binary(shutil.which("redis-server") is not None, "redis-server")
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        import redis

        wait_for(lambda: _ping(redis.Redis(port=self.port)), 20, 0.1, "private redis")

    def kill(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


def _ping(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (initdb) on its own port, run as the postgres user."""

    def __init__(self) -> None:
        _require_binary(any(Path("/usr/lib/postgresql").glob("*/bin/initdb")), "PostgreSQL's initdb")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pgfault-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.bin = Path(sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1])
        self._as_postgres([str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres"])
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, cmd: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run(prefix + cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-o",
                opts,
                "-l",
                str(self.dir / "log"),
                "-w",
                "start",
            ]
        )

    def stop(self) -> None:
        self._as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop"])

    def destroy(self) -> None:
        try:
            self.stop()
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    """A real `celery worker` process with its own environment."""

    def __init__(self, env: dict[str, str], queues_prefix: str) -> None:
        self.env = env
        self.prefix = queues_prefix
        self.log = Path(tempfile.mkstemp(prefix="worker-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        from attendance_shared.contracts import ALL_QUEUES

        self.proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "attendance_worker.celery_app", "worker", "--loglevel", "INFO",
             "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname", f"fault-{uuid.uuid4().hex[:6]}@%h",
             "--queues", ",".join(self.prefix + q for q in ALL_QUEUES)],
            env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        wait_for(lambda: b"ready." in self.log.read_bytes() or self.proc.poll() is not None, 120, 0.3, "worker ready")
        assert self.proc.poll() is None, self.text()

    def pool_children(self) -> list[int]:
        assert self.proc
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(x) for x in path.read_text().split()]

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        time.sleep(0.1)
