"""`make run`: the web (http://127.0.0.1:5000, or the port in PORT) and a real Celery worker, stopped together by
Ctrl-C.

Everything embedded: SQLite file and photos under ./instance, kombu's filesystem transport as broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from attendance_worker.engine.runtime import with_malloc_tunables

BIN = Path(sys.executable).parent
QUEUES = "attendance,enrollment,maintenance"
HOST = "127.0.0.1"
DEFAULT_PORT = "5000"


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


def main() -> int:
    env = dict(os.environ)
    env.setdefault("FLASK_ENV", "development")
    port = web_port(env)
    procs = [
        subprocess.Popen(
            [str(BIN / "flask"), "--app", "main", "run", "--host", HOST, "--port", port],
            env=env,
        ),
        subprocess.Popen(
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
            env=with_malloc_tunables(env),
        ),
    ]
    # The address the web really listens on (it said 5000 even with PORT=5077 set).
    print(f"Student Attendance is starting on http://{HOST}:{port}  (Ctrl-C stops the web and the worker)", flush=True)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT if os.name != "nt" else signal.CTRL_C_EVENT)
        deadline = time.time() + 15
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
    return max((p.returncode or 0) for p in procs)


if __name__ == "__main__":
    raise SystemExit(main())
