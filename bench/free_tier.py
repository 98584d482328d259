"""The free tier: the whole application in 1 GiB on 2 vCPUs, under a school's burst.

    .venv/bin/python -m bench.free_tier [--memory-mib 1024] [--teachers 20] [--photos 60] [--portraits 30]
                                        [--window-s 120] [--seed 5] [--recognizer-precision fp32|auto]
                                        [--cpus 0.2] [--idle-s 300]

Runs the single-instance configuration (tools/deploy_checks/eb_bundle.py --single-instance: the containers'
own commands and memory limits) as processes: nginx with the proxy container's configuration, gunicorn (one
process, 8 threads), and the worker with the beat inside it, in production mode with the fp32 recognizer (the
heavier of the two). Each runs in a memory cgroup with its container's hard limit, all of them inside one
cgroup of --memory-mib (1 GiB: a t3.micro). PostgreSQL, Redis and S3 stay outside it, as managed services
(RDS, ElastiCache, S3; here the local servers and moto's S3-API server on loopback).

The burst: --teachers teachers sign in, and within --window-s seconds (arrival times seeded, uniform) each
uploads one lesson of classroom photos (--photos in all, alternately 1920x1080 and 4000x3000, 40 faces each)
and the school's --portraits portraits go to students, all as the pages do with S3: sign, POST to the bucket,
register. Then every teacher at once opens the review page, its photos and the course's PDF and Excel reports (the
web's heaviest requests). The images' health checks and the worker's queue metric run in the containers' cgroups
throughout, as Docker and the instance run them. It prints one JSON object: peak memory of each process (VmHWM,
and the pages it alone holds) and of each container and the whole (the cgroups' own peak), OOM kills, the jobs'
time per photo, each teacher's time to result, and the web's request times. Swap: none (each cgroup's memory +
swap limit is its memory limit, and the host's SwapTotal is recorded). The machine's cores are not limited:
compare "machine_busy_pct" and "cores" with the instance's 2 vCPUs.

CPU credits: the CPU time each container used in the burst, the review and an idle spell (--idle-s, the health
checks and the metric at their own intervals) is counted by the cgroups; a t3 instance pays one credit per
vCPU-minute. --cpus 0.2 holds the whole application to a fifth of one CPU, as a t3.micro runs once its credits are
spent (10 % of each of its 2 vCPUs; standard mode): how long teachers then wait, and whether the health checks keep
within their timeouts (ECS replaces the task when the web's fails 3 times). Inside it the containers share the CPU
by their Dockerrun "cpu" units, as Docker gives them (cpu.shares).

Needs root and the memory controller (cgroup v1 or v2); prints why not and exits 2 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from tools.deploy_checks import eb_bundle, eb_nginx, image_env
from tools.deploy_checks.memory_cage import MIB, CageUnavailable, MemoryCage, host_facts

from .common import facedata_dir, load_engine
from .load import start_s3
from .stack import BIN, REPO, Stack, csrf_token, free_port, machine_cpu, signup

SAMPLE_S = 0.2


# ---------------------------------------------------------------------------------------------- memory cgroups


class Sampler(threading.Thread):
    """Every SAMPLE_S: each process's resident set (and its kernel-kept peak, VmHWM), each cgroup's anonymous
    memory; keeps the peaks, including processes that exit before the end (beat's children, gunicorn's restarts)."""

    def __init__(self, cage: MemoryCage) -> None:
        super().__init__(daemon=True)
        self.cage = cage
        self.stop = threading.Event()
        self.processes: dict[int, dict[str, Any]] = {}
        self.anon_peak: dict[str, int] = {}

    def run(self) -> None:
        n = 0
        while not self.stop.wait(SAMPLE_S):
            n += 1
            self.sample(private=n % 5 == 0)

    def sample(self, private: bool = True) -> None:
        for name, path in [*self.cage.children.items(), ("whole", self.cage.root)]:
            _, anon = self.cage.usage(path)
            self.anon_peak[name] = max(self.anon_peak.get(name, 0), anon)
            if name == "whole":
                continue
            for pid in self.cage.pids(name):
                status = _status(pid)
                if not status:
                    continue
                entry = self.processes.setdefault(
                    pid,
                    {"container": name, "command": _command(pid), "hwm_kb": 0, "private_kb": 0, "threads": 0,
                     "ppid": _ppid(pid)},
                )  # fmt: skip
                if private:  # pages no other process shares (smaps_rollup costs more to read: every 5th sample)
                    entry["private_kb"] = max(entry["private_kb"], _private_kb(pid))
                entry["hwm_kb"] = max(entry["hwm_kb"], status.get("VmHWM", 0))
                entry["threads"] = max(entry["threads"], status.get("Threads", 0))

    def roles(self) -> dict[int, str]:
        """What each process is: a container's main process, and in the worker its pool process (the one with the
        models: onnxruntime's threads) and the beat."""
        out = {}
        for pid, p in self.processes.items():
            if "inspect ping" in p["command"] or "urllib.request" in p["command"]:
                out[pid] = "health check"
            elif "queue-metric" in p["command"]:
                out[pid] = "queue metric"
            elif p["ppid"] not in self.processes:
                out[pid] = "main"
            elif p["container"] == "worker":
                siblings = [q for q, o in self.processes.items() if o["ppid"] == p["ppid"]]
                out[pid] = "pool" if p["threads"] == max(self.processes[q]["threads"] for q in siblings) else "beat"
            else:
                out[pid] = "child"
        return out


def _private_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return sum(int(v) for v in re.findall(r"^Private_(?:Clean|Dirty):\s+(\d+)", text, re.M))


def _ppid(pid: int) -> int:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
        return int(raw[raw.rindex(")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                key, value = line.split(":", 1)
                out[key] = int(value.split()[0])
    except (OSError, ValueError):
        pass
    return out


def _command(pid: int) -> str:
    try:
        parts = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [
        Path(p.decode(errors="replace")).name if i == 0 else p.decode(errors="replace") for i, p in enumerate(parts)
    ]
    text = " ".join(w for w in words if w)
    return text[:90]


# ---------------------------------------------------------------------------------------------- the application


def containers() -> dict[str, dict[str, Any]]:
    """The single-instance configuration, as eb_bundle.py writes it into the free tier's bundle."""
    values = {"ECR_REGISTRY": "local", "IMAGE_TAG": "bench", "AWS_REGION": "us-east-1", "LOG_GROUP": "bench"}
    doc = eb_bundle.single_instance(eb_bundle.render_dockerrun(values))
    return {c["name"]: c for c in doc["containerDefinitions"]}


def container_env(c: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in c.get("environment", [])}


def start_application(
    stack: Stack, cage: MemoryCage, defs: dict[str, dict[str, Any]], precision: str = "fp32", patience: float = 1
) -> str:
    """gunicorn, the worker (with its beat) and nginx, each in its container's cgroup; returns the proxy's URL.
    `patience` stretches the waits for a cage held to a share of the CPUs."""
    web = defs["web"]["command"]
    port = free_port()
    web = [str(BIN / web[0]), *(f"127.0.0.1:{port}" if p == "0.0.0.0:5000" else p for p in web[1:])]
    env = {**stack.env, **image_env.runtime_env("web"), **container_env(defs["web"])}
    env["FLASK_ENV"] = "development"  # plain HTTP on loopback: production's secure-only cookies would not be sent
    log = (stack.tmp / "web.log").open("wb")
    at = web.index("--access-logfile")  # to a file here, with the time gunicorn spent on each request
    web[at : at + 2] = ["--access-logfile", str(stack.access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(D)s"]
    proc = subprocess.Popen(web, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=cage.enter("web"))
    stack.procs.append(proc)
    stack.web_pid, stack.port = proc.pid, port
    _wait(lambda: _healthy(f"http://127.0.0.1:{port}/healthz"), 60 * patience, "gunicorn")

    worker = defs["worker"]["command"]
    schedule = stack.tmp / "celerybeat-schedule"
    shell = worker[-1].replace(eb_bundle.BEAT_SCHEDULE, str(schedule))
    shell = shell.replace("exec celery", f"exec {shlex.quote(str(BIN / 'celery'))}", 1)
    env = {**stack.env, **image_env.runtime_env("worker"), **container_env(defs["worker"])}
    # fp32 by default: the heavier recognizer (x86 workers run the int8 one, ~45 MB less at peak; ARM runs fp32)
    env.update({"FLASK_ENV": "production", "MODEL_PACK": stack.env["MODEL_PACK"], "RECOGNIZER_PRECISION": precision})
    stack.worker_env = env
    wlog = stack.tmp / "worker.log"
    proc = subprocess.Popen(
        [*worker[:-1], shell],
        env=env,
        cwd=stack.tmp,
        stdout=wlog.open("wb"),
        stderr=subprocess.STDOUT,
        preexec_fn=cage.enter("worker"),
    )
    stack.procs.append(proc)
    _wait(lambda: b"ready." in wlog.read_bytes() or proc.poll() is not None, 180 * patience, "the worker")
    if proc.poll() is not None:
        raise RuntimeError("worker exited:\n" + wlog.read_text(errors="replace")[-3000:])

    nginx_port = free_port()
    (stack.tmp / "nginx").mkdir()
    nginx = eb_nginx.start(eb_nginx.docker_proxy_config(stack.tmp / "nginx", nginx_port, port), nginx_port)
    stack.procs.append(nginx)
    from .stack import process_tree

    cage.move("proxy", process_tree(nginx.pid))
    return f"http://127.0.0.1:{nginx_port}"


class Sidecars:
    """What else runs in the containers while they work, charged to their cgroups: each image's HEALTHCHECK (Docker
    runs it even where the task definition names none; ECS acts on the web's, which the task definition names) and,
    in the worker's, the queue-depth metric the instance publishes each minute (.ebextensions/06_queue_metric.config:
    `docker exec <worker> attendance-queue-metric`, here to CloudWatch's API on the S3 stand-in). Each check runs in
    its own thread and counts as failed when it fails or outlives its HEALTHCHECK --timeout, as Docker counts it.
    `as_deployed`: at the images' own intervals (the idle phase); otherwise every 20 s (metric 30 s), so that some
    run at the burst's peak."""

    def __init__(self, stack: Stack, cage: MemoryCage, web_port: int, *, as_deployed: bool = False) -> None:
        self.stack, self.cage = stack, cage
        self.stop = threading.Event()
        self.runs: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.slowest_s: dict[str, float] = {}
        self._lock = threading.Lock()
        worker_env = dict(stack.worker_env, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
        worker_env["AWS_ENDPOINT_URL_CLOUDWATCH"] = stack.env["S3_ENDPOINT_URL"]
        web_env = dict(stack.env, PATH=f"{BIN}:{os.environ.get('PATH', '')}")
        web_check = [p.replace("127.0.0.1:5000", f"127.0.0.1:{web_port}") for p in image_env.healthcheck("web") or []]
        web, worker = image_env.healthcheck_timing("web"), image_env.healthcheck_timing("worker")
        metric = [str(BIN / "attendance-queue-metric")]
        self.checks = [  # name, container, argv, env, every (s), timeout (s)
            ("web health check", "web", web_check, web_env, web["interval"] if as_deployed else 20, web["timeout"]),
            ("worker health check", "worker", image_env.healthcheck("worker") or [], worker_env,
             worker["interval"] if as_deployed else 20, worker["timeout"]),
            ("queue metric", "worker", metric, worker_env, 60 if as_deployed else 30, 60),
        ]  # fmt: skip
        self.threads = [threading.Thread(target=self._loop, args=check, daemon=True) for check in self.checks]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout_s: float) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout_s)

    def _loop(self, name: str, container: str, argv: list[str], env: dict[str, str], every: float, cap: float) -> None:
        while not self.stop.wait(every):
            t0 = time.monotonic()
            try:
                done = subprocess.run(argv, env=env, cwd=self.stack.tmp, capture_output=True, timeout=cap,
                                      preexec_fn=self.cage.enter(container))  # fmt: skip
                failure = None if done.returncode == 0 else name
            except subprocess.TimeoutExpired:
                failure = f"{name} timed out ({cap:.0f} s)"
            except (OSError, subprocess.SubprocessError):
                failure = f"{name} could not start"
            with self._lock:
                self.runs[name] = self.runs.get(name, 0) + 1
                self.slowest_s[name] = round(max(self.slowest_s.get(name, 0.0), time.monotonic() - t0), 2)
                if failure:
                    self.failures[failure] = self.failures.get(failure, 0) + 1

    def report(self) -> dict[str, Any]:
        return {"runs": self.runs, "failures": self.failures, "slowest_s": self.slowest_s}


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait(ready: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start within {seconds} s")
        time.sleep(0.3)


# ---------------------------------------------------------------------------------------------- the burst


def unique(jpeg: bytes, tag: str) -> bytes:
    """The same picture with a JPEG comment after SOI: a different file (and hash), the same pixels."""
    text = tag.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text + jpeg[2:]


def prepare_photos(workdir: Path) -> tuple[dict[str, bytes], list[tuple[str, bytes]]]:
    """The speed benchmark's classroom photos (1080p and 12 MP, 40 faces) and one portrait of each of 30 people."""
    from . import speed

    if not (workdir / "12MP.jpg").is_file():
        speed.prepare(load_engine(), facedata_dir(), workdir)
    photos = {name: (workdir / f"{name}.jpg").read_bytes() for name, _ in speed.PHOTOS}
    portraits = [(p.parent.name, p.read_bytes()) for p in sorted((workdir / "enroll").glob("*/1.jpg"))]
    return photos, portraits


def upload(
    s: requests.Session, base: str, sign_path: str, register_path: str, token: str, files: list[tuple[str, bytes]],
    form: dict[str, str], timings: dict[str, list[float]],
) -> dict[str, Any]:  # fmt: skip
    """As static/direct.js: sign every file, POST each to S3, register the tickets; returns register's answer."""
    announced = [
        {"name": name, "type": "image/jpeg", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in files
    ]
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    t0 = time.perf_counter()
    r = s.post(base + sign_path, json={"files": announced}, headers=headers, timeout=60)
    timings["sign"].append(time.perf_counter() - t0)
    r.raise_for_status()
    signed = r.json()["uploads"]
    s3 = requests.Session()
    for item, (_, data) in zip(signed, files, strict=True):
        put = s3.post(item["url"], data=item["fields"], files={"file": ("photo", data)}, timeout=120)
        if put.status_code != 204:
            raise RuntimeError(f"S3 POST {put.status_code}: {put.text[:200]}")
    t0 = time.perf_counter()
    body = [("csrf_token", token), *form.items(), *(("ticket", item["ticket"]) for item in signed)]
    r = s.post(base + register_path, data=body, headers={"Accept": "application/json"}, timeout=60)
    timings["register"].append(time.perf_counter() - t0)
    if r.status_code not in (200, 201):
        raise RuntimeError(f"register {r.status_code}: {r.text[:300]}")
    return dict(r.json())


def burst(base: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    photos, portraits = prepare_photos(workdir)
    portraits = portraits[: args.portraits]
    rng = random.Random(args.seed)
    # The school before the burst: teachers, a course each, its students (portraits come in the burst).
    teachers = []
    for i in range(args.teachers):
        s = signup(base, f"free-{i}-{uuid.uuid4().hex[:6]}@school.example.org")
        token = csrf_token(s, base + "/")
        r = s.post(base + "/courses", data={"csrf_token": token, "name": f"Class {i}"}, timeout=30)
        course = int(r.url.rstrip("/").rsplit("/", 1)[-1])
        teachers.append({"session": s, "course": course, "token": csrf_token(s, f"{base}/courses/{course}")})
    students = []
    for k, (person, _) in enumerate(portraits):
        t = teachers[k % len(teachers)]
        r = t["session"].post(
            f"{base}/courses/{t['course']}/students",
            data={"csrf_token": t["token"], "student_number": f"S{k:04d}", "name": person.replace("_", " ")},
            timeout=30,
        )
        students.append((k % len(teachers), int(r.url.rstrip("/").rsplit("/", 1)[-1])))

    names = [name for name, _ in sorted(photos.items())]
    per_teacher = [
        args.photos // args.teachers + (1 if i < args.photos % args.teachers else 0) for i in range(len(teachers))
    ]
    events: list[tuple[float, str, int]] = [(rng.uniform(0, args.window_s), "lesson", i) for i in range(len(teachers))]
    events += [(rng.uniform(0, args.window_s), "portrait", k) for k in range(len(students))]
    events.sort()
    timings: dict[str, list[float]] = {"sign": [], "register": []}
    jobs: list[dict[str, Any]] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(10**6))

    def run_event(kind: str, idx: int) -> None:
        try:
            if kind == "lesson":
                t = teachers[idx]
                files = []
                for _ in range(per_teacher[idx]):
                    n = next(counter)
                    res = names[n % len(names)]
                    files.append((f"room-{idx}-{n}-{res}.jpg", unique(photos[res], f"burst {args.seed} {n}")))
                form = {"date": "2026-12-07", "label": f"Lesson {idx}"}
                path = f"{base}/courses/{t['course']}/sessions"
                answer = upload(t["session"], "", f"{path}/sign", f"{path}/register", t["token"], files, form, timings)
                t["lesson"] = answer.get("session_id")
            else:
                owner, student = students[idx]
                t = teachers[owner]
                token = csrf_token(t["session"], f"{base}/students/{student}")
                files = [(f"portrait-{idx}.jpg", unique(portraits[idx][1], f"portrait {args.seed} {idx}"))]
                answer = upload(t["session"], base, f"/students/{student}/photos/sign",
                                f"/students/{student}/photos/register", token, files, {}, timings)  # fmt: skip
            with lock:
                owner = idx if kind == "lesson" else students[idx][0]
                jobs.append({"kind": kind, "teacher": owner, "job": answer.get("job_id"), "photos": len(files)})
        except Exception as exc:  # every failure is counted; none stops the burst
            with lock:
                errors.append(f"{kind} {idx}: {exc}"[:300])

    threads = []
    started = time.monotonic()
    for at, kind, idx in events:
        time.sleep(max(0.0, started + at - time.monotonic()))
        th = threading.Thread(target=run_event, args=(kind, idx))
        th.start()
        threads.append(th)
    for th in threads:
        th.join(300)
    uploaded = time.monotonic()
    return {"teachers": teachers, "jobs": jobs, "errors": errors, "timings": timings, "started": started,
            "uploaded": uploaded}  # fmt: skip


def review(base: str, teachers: list[dict[str, Any]]) -> dict[str, Any]:
    """Every teacher at once opens the lesson's review page, each photo as the page shows it (the web decodes the
    stored photo and sends a downsized JPEG) and the course's PDF and Excel reports: the web's heaviest requests."""
    timings: dict[str, list[float]] = {"review page": [], "photo view": [], "pdf report": [], "xlsx report": []}
    errors: list[str] = []
    lock = threading.Lock()

    def get(s: requests.Session, what: str, url: str) -> requests.Response | None:
        t0 = time.perf_counter()
        try:
            r = s.get(url, timeout=120)
        except requests.RequestException as exc:
            r, status = None, type(exc).__name__
        else:
            status = str(r.status_code)
        with lock:
            if r is not None and r.status_code == 200:
                timings[what].append(time.perf_counter() - t0)
            else:
                errors.append(f"{what} {status}")
        return r

    def teacher(t: dict[str, Any]) -> None:
        s = t["session"]
        page = get(s, "review page", f"{base}/sessions/{t['lesson']}") if t.get("lesson") else None
        for photo in sorted(set(re.findall(r"/session-photos/(\d+)/view", page.text if page else ""))):
            get(s, "photo view", f"{base}/session-photos/{photo}/view")
        get(s, "pdf report", f"{base}/reports/courses/{t['course']}/export?format=pdf")
        get(s, "xlsx report", f"{base}/reports/courses/{t['course']}/export?format=xlsx")

    threads = [threading.Thread(target=teacher, args=(t,)) for t in teachers]
    for th in threads:
        th.start()
    for th in threads:
        th.join(300)
    return {
        "requests": {k: len(v) for k, v in timings.items()},
        "seconds": {k: summarize(v) for k, v in timings.items()},
        "errors": errors[:10],
    }


def wait_for_jobs(stack: Stack, timeout_s: float) -> dict[str, Any]:
    """Every job of this private database (lessons, and the enrollment jobs portraits start), polled until each
    has ended; when each was first seen ended (monotonic clock)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(stack.env["DATABASE_URL"])
    deadline = time.monotonic() + timeout_s
    done_at: dict[str, float] = {}
    rows: list[Any] = []
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            rows = list(conn.execute(text("SELECT id, kind, state, created_at, started_at, finished_at FROM jobs")))
        now = time.monotonic()
        for row in rows:
            if str(row.state).lower() in ("succeeded", "failed") and row.id not in done_at:
                done_at[row.id] = now
        if rows and len(done_at) == len(rows):
            break
        time.sleep(0.5)
    engine.dispose()
    return {"rows": rows, "done_at": done_at}


def cpu_seconds(cage: MemoryCage) -> dict[str, float | None]:
    """CPU time used so far by each container and by the whole application."""
    return {name: cage.cpu_seconds(name) for name in cage.children} | {"whole": cage.cpu_seconds()}


def spent(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float | None]:
    """CPU seconds between two cpu_seconds() readings, per container and whole; None where the kernel counts none."""
    out: dict[str, float | None] = {}
    for name, now in after.items():
        then = before.get(name)
        out[name] = None if now is None or then is None else round(now - then, 1)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summarize(values: list[float], scale: float = 1.0, digits: int = 2) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values) * scale, digits),
        "p99": round(pct(values, 99) * scale, digits),
        "max": round(max(values) * scale, digits),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--memory-mib", type=int, default=1024)
    parser.add_argument("--teachers", type=int, default=20)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--portraits", type=int, default=30)
    parser.add_argument("--window-s", type=float, default=120)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--cpus", type=float, default=None,
        help="hold the whole application to this share of the CPUs (0.2: a t3.micro at its baseline, credits spent)",
    )  # fmt: skip
    parser.add_argument(
        "--recognizer-precision", choices=["fp32", "auto"], default="fp32",
        help="the worker's RECOGNIZER_PRECISION: fp32 (the heavier, for memory) or auto (what an x86 instance runs)",
    )  # fmt: skip
    parser.add_argument(
        "--idle-s", type=float, default=0,
        help="then leave it idle this long, health checks and metric at their own intervals, and count its CPU",
    )  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=REPO / "artifacts" / "bench" / "free-tier")
    args = parser.parse_args()

    defs = containers()
    running = {name: c["memory"] for name, c in defs.items() if name != "migrate"}
    try:
        shares = {name: c["cpu"] for name, c in defs.items() if name in running and c.get("cpu")}
        cage = MemoryCage(args.memory_mib, running, cpus=args.cpus, cpu_shares=shares)
    except CageUnavailable as exc:
        print(f"bench.free_tier: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    load_before = os.getloadavg()
    try:
        with Stack() as stack:
            stack.env["SECRET_KEY"] = "free-tier-bench-" + uuid.uuid4().hex  # production wants >= 32 characters
            start_s3(stack)
            patience = 1 if args.cpus is None else max(1.0, 2 / args.cpus)
            base = start_application(stack, cage, defs, args.recognizer_precision, patience)
            sampler = Sampler(cage)
            sampler.start()
            sidecars = Sidecars(stack, cage, stack.port)
            sidecars.start()
            busy0, total0 = machine_cpu()
            cpu = {"started": cpu_seconds(cage)}
            done = burst(base, args, args.workdir)
            waited = wait_for_jobs(stack, timeout_s=min(900 * patience, 3600))
            finished = time.monotonic()
            busy1, total1 = machine_cpu()
            cpu["burst"] = cpu_seconds(cage)
            burst_peaks = dict(sampler.anon_peak)
            reviewed = review(base, done["teachers"])
            sidecars.join(90)
            cpu["reviewed"] = cpu_seconds(cage)
            idle = Sidecars(stack, cage, stack.port, as_deployed=True)
            idle.start()
            time.sleep(args.idle_s)
            idle.join(90)
            cpu["idle"] = cpu_seconds(cage)
            sampler.stop.set()
            sampler.join()
            sampler.sample()
            throttled = cage.throttled()
            alive = all(p.poll() is None for p in stack.procs)
            worker_log = (stack.tmp / "worker.log").read_text(errors="replace")
    finally:
        cage_report = {name: cage.report(path) for name, path in [*cage.children.items(), ("whole", cage.root)]}
        cage.remove()

    photos_of = {j["job"]: j["photos"] for j in done["jobs"] if j["job"]}
    per_photo: dict[str, list[float]] = {}
    states: dict[str, int] = {}
    for row in waited["rows"]:
        kind, state = str(row.kind).lower(), str(row.state).lower()
        states[f"{kind} {state}"] = states.get(f"{kind} {state}", 0) + 1
        if row.started_at and row.finished_at:
            seconds = (row.finished_at - row.started_at).total_seconds()
            per_photo.setdefault(kind, []).append(seconds / photos_of.get(row.id, 1))
    # A teacher's wait: from the lesson's job being created (the register request) to its end, by the database's rows.
    rows_by_id = {row.id: row for row in waited["rows"]}
    to_result = {
        j["teacher"]: (rows_by_id[j["job"]].finished_at - rows_by_id[j["job"]].created_at).total_seconds()
        for j in done["jobs"]
        if j["kind"] == "lesson" and j["job"] in rows_by_id and rows_by_id[j["job"]].finished_at
    }
    by_container: dict[str, list[dict[str, Any]]] = {}
    roles = sampler.roles()
    for pid, p in sorted(sampler.processes.items()):
        by_container.setdefault(p["container"], []).append(
            {
                "pid": pid,
                "role": roles[pid],
                "command": p["command"],
                "peak_rss_mib": round(p["hwm_kb"] / 1024, 1),
                "peak_private_mib": round(p["private_kb"] / 1024, 1),
            }
        )
    out = {
        "command": "python -m bench.free_tier " + " ".join(sys.argv[1:]),
        "limits_mib": {"whole": args.memory_mib, **running},
        "cores": os.cpu_count(),
        "load_average_before": [round(v, 2) for v in load_before],
        "burst": f"{args.teachers} teachers, {args.photos} classroom photos (1080p and 12 MP, 40 faces) and "
        f"{args.portraits} portraits within {args.window_s:.0f} s",
        "errors": done["errors"][:10],
        "error_count": len(done["errors"]),
        "jobs": states,
        "processes_alive_at_end": alive,
        "uploads_took_s": round(done["uploaded"] - done["started"], 1),
        "all_results_after_s": round(finished - done["started"], 1),
        "seconds_per_photo": {k: summarize(v) for k, v in per_photo.items()},
        "teacher_waits_s": summarize(list(to_result.values()), digits=1),
        "sign_ms": summarize(done["timings"]["sign"], 1000, 0),
        "register_ms": summarize(done["timings"]["register"], 1000, 0),
        "processes": by_container,
        "cgroups": cage_report,
        "after_the_burst": reviewed,
        "in_the_containers_too": sidecars.report(),
        "cpu": {
            "limit_cpus": args.cpus,
            "throttled": throttled,
            "burst_cpu_s": spent(cpu["started"], cpu["burst"]),
            "review_cpu_s": spent(cpu["burst"], cpu["reviewed"]),
            "idle": {
                "seconds": args.idle_s,
                "cpu_s": spent(cpu["reviewed"], cpu["idle"]),
                "checks": idle.report(),
            },
        },
        "host": host_facts(),
        "anonymous_peak_mib": {k: round(v / MIB, 1) for k, v in sampler.anon_peak.items()},
        "anonymous_peak_mib_before_the_review": {k: round(v / MIB, 1) for k, v in burst_peaks.items()},
        "machine_busy_pct": round(100 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1),
        "worker_killed": bool(re.search(r"WorkerLostError|SIGKILL|signal 9", worker_log)),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
