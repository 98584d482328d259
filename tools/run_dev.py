"""`make run`: the web (http://127.0.0.1:5000, or the port in PORT) and a real Celery worker, stopped together by
Ctrl-C.

Everything embedded: SQLite file and photos under ./instance, kombu's filesystem transport as broker.
The children's output goes through this process, so that the address is printed last, once the web answers and
both have gone quiet (printed first, it scrolled away under the worker's banner).

Each child runs in a process group of its own, which this process stops as a whole: the worker's beat and pool
processes go with it, even when the worker itself was killed (its beat lived on as an orphan). Ctrl-C, SIGTERM and
SIGHUP stop everything the same way, and if this process is killed outright the kernel sends each child SIGTERM
(PR_SET_PDEATHSIG on Linux).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from attendance_worker.engine.runtime import with_malloc_tunables

BIN = Path(sys.executable).parent
QUEUES = "attendance,enrollment,maintenance"
HOST = "127.0.0.1"
DEFAULT_PORT = "5000"
QUIET_S = 1.5  # no output for this long after both are up: the start's burst of lines is over
# Celery's own line once the worker consumes ("celery@host ready."), as the JSON log writes it.
WORKER_READY = (b'"celery.apps.worker"', b" ready.")
START_TIMEOUT_S = 90.0


def web_port(env: dict[str, str]) -> str:
    """The port the web listens on: PORT when set (and not blank), else 5000."""
    return env.get("PORT", "").strip() or DEFAULT_PORT


def beat_schedule() -> Path:
    """The beat's schedule file, in the instance folder the settings name (INSTANCE_DIR), created if missing: a
    fixed ./instance path made the beat fail at start when INSTANCE_DIR pointed elsewhere."""
    from attendance_shared.settings import get_settings

    folder = Path(get_settings().instance_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "celerybeat-schedule"


def ready_banner(port: str) -> str:
    """The last lines of the start: the address on a line of its own, easy to find and to click."""
    return f"\nStudent Attendance is running: http://{HOST}:{port}\nCtrl-C stops the web and the worker.\n"


def web_answers(port: str) -> bool:
    try:
        with socket.create_connection((HOST, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


class OutputRelay:
    """Copies each child's output to this console, line by line, and remembers when the last line came."""

    def __init__(self) -> None:
        self.last_line_at = time.monotonic()
        self.worker_ready = threading.Event()
        self._lock = threading.Lock()

    def follow(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        threading.Thread(target=self._copy, args=(stream,), daemon=True).start()

    def _copy(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            with self._lock:
                sys.stdout.buffer.write(line)
                sys.stdout.flush()
                self.last_line_at = time.monotonic()
            if all(part in line for part in WORKER_READY):
                self.worker_ready.set()

    def say(self, text: str) -> None:
        with self._lock:
            print(text, flush=True)


def wait_until_started(
    procs: Sequence[Any], relay: OutputRelay, port: str, answers: Callable[[str], bool] = web_answers
) -> bool:
    """True once the web answers, the worker has said it is ready and the output has been quiet for QUIET_S (or
    after START_TIMEOUT_S); False if a child stopped first."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        quiet = time.monotonic() - relay.last_line_at >= QUIET_S
        if quiet and relay.worker_ready.is_set() and answers(port):
            return True
        time.sleep(0.2)
    return True


_Popen = subprocess.Popen  # the real one: only its children have a process group of their own to signal
PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 15.0  # each child's own clean shutdown, before the kill
LEFTOVER_GRACE_S = 5.0  # processes left in a child's group once the child has gone (an orphaned beat)


def die_with_parent() -> Callable[[], None] | None:
    """For the child, run between fork and exec: SIGTERM when this launcher dies, even by SIGKILL. Linux only;
    libc is loaded here, in the parent, so that the child only makes the one call."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_pdeathsig() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return set_pdeathsig


def start(args: list[str], env: dict[str, str]) -> Any:
    if os.name != "posix":
        return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return subprocess.Popen(
        args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,  # its own group: the terminal's Ctrl-C reaches this launcher only, which stops the group
        preexec_fn=die_with_parent(),
    )


def _own_group(p: Any) -> bool:
    return os.name == "posix" and isinstance(p, _Popen)


def signal_group(p: Any, sig: int) -> bool:
    """Send sig to the child and everything in its process group; False when nothing of it is left."""
    if not _own_group(p):
        if p.poll() is None:
            p.send_signal(sig)
        return p.poll() is None
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group id now belongs to someone else's processes: ours are gone
        return False
    return True


def stop(procs: Sequence[Any], interrupted: bool = False) -> None:
    """Each child's own clean shutdown (SIGINT to its whole group, once), a kill after STOP_GRACE_S; then whatever
    is left in its group (a beat whose worker was killed) is stopped too. `interrupted`: Ctrl-C, which reached only
    this launcher, the children being in groups of their own."""
    for p in procs:
        if p.poll() is None:
            signal_group(p, signal.SIGINT if os.name != "nt" else getattr(signal, "CTRL_C_EVENT", signal.SIGINT))
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if not signal_group(p, signal.SIGKILL):
                p.kill()
            p.wait(timeout=5)
    for p in procs:
        if not _own_group(p) or not signal_group(p, 0):
            continue
        signal_group(p, signal.SIGTERM)
        leftover_deadline = time.monotonic() + LEFTOVER_GRACE_S
        while time.monotonic() < leftover_deadline and signal_group(p, 0):
            time.sleep(0.1)
        signal_group(p, signal.SIGKILL)


class _Stop(Exception):
    """SIGTERM or SIGHUP: stop everything as Ctrl-C does."""


def _raise_stop(signum: int, _frame: Any) -> None:
    raise _Stop(signal.Signals(signum).name)


def main() -> int:
    env = dict(os.environ)
    env.setdefault("FLASK_ENV", "development")
    env["PYTHONUNBUFFERED"] = "1"  # lines reach the console as they are written, not when a pipe buffer fills
    port = web_port(env)
    relay = OutputRelay()
    procs = [
        start([str(BIN / "flask"), "--app", "main", "run", "--host", HOST, "--port", port], env),
        start(
            [
                str(BIN / "celery"),
                "-A",
                "attendance_worker.celery_app",
                "worker",
                "--beat",
                "--queues",
                QUEUES,
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--schedule",
                str(beat_schedule()),
            ],
            with_malloc_tunables(env),
        ),
    ]
    for p in procs:
        relay.follow(p.stdout)
    interrupted = False
    handled = [sig for sig in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if sig is not None]
    before = {sig: signal.signal(sig, _raise_stop) for sig in handled}
    try:
        if wait_until_started(procs, relay, port):
            relay.say(ready_banner(port))
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except (KeyboardInterrupt, _Stop):
        # Ctrl-C is how the teacher stops it: a clean exit, not make's "*** Error 1" from the children's status.
        interrupted = True
    finally:
        for sig in handled:
            signal.signal(sig, signal.SIG_IGN)  # a second one must not cut the shutdown short
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        try:
            stop(procs, interrupted)
        finally:
            signal.signal(signal.SIGINT, previous)
            for sig, handler in before.items():
                signal.signal(sig, handler)
    if interrupted:
        relay.say("Stopped.")
        return 0
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    raise SystemExit(main())
