"""`make run`: the web (http://127.0.0.1:5000) and a real Celery worker, stopped together by Ctrl-C.

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


def main() -> int:
    env = dict(os.environ)
    env.setdefault("FLASK_ENV", "development")
    procs = [
        subprocess.Popen(
            [str(BIN / "flask"), "--app", "main", "run", "--host", "127.0.0.1", "--port", env.get("PORT", "5000")],
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
                "instance/celerybeat-schedule",
            ],
            env=with_malloc_tunables(env),
        ),
    ]
    print("Student Attendance is starting on http://127.0.0.1:5000  (Ctrl-C stops the web and the worker)", flush=True)
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
