"""`make run` (tools/run_dev.py) stops its whole process tree: the web, the worker, the worker's pool and its
embedded beat, whether the launcher is asked to stop (SIGTERM), is killed outright (SIGKILL), or the worker is
killed under it (its beat used to live on as an orphan). Checked on the real processes: nothing of the launcher's
session is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, wait_for

pytestmark = [pytest.mark.slow]


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields from the state on (field 3), or None when the process is gone (or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(errors="replace").rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else fields


def _session(sid: int) -> set[int]:
    """The live processes of one session (the launcher's, started with start_new_session)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and int(fields[3]) == sid:
            found.add(int(entry.name))
    return found


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.mark.parametrize("how", ["launcher-terminated", "launcher-killed", "worker-killed"])
def test_make_run_leaves_no_process_behind(how: str) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    from attendance_shared import migrate

    instance = Path(tempfile.mkdtemp(prefix="run-dev-"))
    # its own database, as make run's: its sweeper must not touch other tests' jobs
    database = f"sqlite:///{instance / 'attendance.sqlite'}"
    migrate.upgrade(database)
    env = dict(os.environ)
    env.update(
        PORT=str(free_port()),
        INSTANCE_DIR=str(instance),
        REDIS_URL="",  # make run's own broker: the filesystem transport under INSTANCE_DIR
        QUEUE_PREFIX="",  # make run consumes the unprefixed queues; its broker folder is this test's own
        DATABASE_URL=database,
    )
    launcher = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "run_dev.py")],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = bytearray()
    reader = threading.Thread(target=lambda: [output.extend(line) for line in iter(launcher.stdout.readline, b"")])
    reader.daemon = True
    reader.start()
    try:
        wait_for(
            lambda: b"Student Attendance is running" in output or launcher.poll() is not None, 180, 0.3, "make run"
        )
        assert launcher.poll() is None, output.decode(errors="replace")[-3000:]
        worker = next(p for p in _children(launcher.pid) if "celery" in _cmdline(p))
        wait_for(lambda: len(_children(worker)) >= 2, 30, 0.2, "the worker's pool and beat processes")
        tree = _session(launcher.pid)
        assert len(tree) >= 5, tree  # launcher, web, worker, its pool process and its beat
        if how == "launcher-terminated":
            launcher.send_signal(signal.SIGTERM)
        elif how == "launcher-killed":
            launcher.kill()
        else:
            os.kill(worker, signal.SIGKILL)
        launcher.wait(60)
        wait_for(lambda: not _session(launcher.pid), 60, 0.3, f"every process of make run to stop ({how})")
        if how == "launcher-terminated":
            assert launcher.returncode == 0 and b"Stopped." in output
    finally:
        for pid in _session(launcher.pid):  # only what this test started: its launcher's session
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if launcher.poll() is None:
            launcher.kill()
        launcher.wait(10)
