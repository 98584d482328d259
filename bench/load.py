"""50 teachers at once, uploading classroom photos and polling their jobs, against gunicorn main:app.

    .venv/bin/python -m bench.load [--teachers 50] [--seconds 60] [--size WxH] [--client python|wrk]
                                   [--workers 3] [--stagger] [--proxy eb-python|docker-proxy] [--direct]

The upload request only checks, stores and enqueues (no worker runs here, so the queue only grows):
this measures the web tier. Bounded in time; loopback only. Prints a JSON line of figures, with the
load average and the CPU seconds used by the web server, the load generator and everything else.

By default all teachers start together, so every ~3 s all 50 upload within a few milliseconds of each
other (a burst: the last upload waits for the 49 before it); `--stagger` starts each teacher at a random
point of its loop, the same 50 teachers and request rate without the lock-step.

`--client python` (default): 50 threads of `requests`, which on a small machine eat the cores the
server needs. `--client wrk`: the same teachers, photos and loop (bench/wrk_upload.lua) driven by wrk
(C, `apt-get install wrk`), one thread and connection per teacher.

`--proxy`: the requests go through a real nginx built as in production (tools/deploy_checks/eb_nginx.py):
`eb-python` is EB's nginx with .platform/nginx, `docker-proxy` the Docker platform's proxy container
(deploy/proxy/default.conf); both open one connection to gunicorn per request.
Without it the clients talk to gunicorn directly, as they never do on AWS.

`--direct`: photos go straight to S3 as the pages send them with S3 configured (attendance_web/direct_uploads.py):
each teacher signs (POST .../sessions/sign), POSTs the photo to the bucket itself (moto's S3-API server on
loopback, not timed: it is S3's work), then registers (POST .../sessions/register). "upload" is then sign +
register, the web's part of one upload, which no longer depends on the photo's size. moto shares the cores (and
answers register's HEAD after the photos it is taking in, in Python): its CPU is shown apart (cpu_s_s3_server).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import requests
from PIL import Image

from tools.deploy_checks import eb_nginx

from .stack import CpuMeter, Stack, cpu_seconds, csrf_token, free_port, process_tree, signup


def phone_photo(seed: int, size: tuple[int, int] = (4032, 3024)) -> bytes:
    """A 12 MP JPEG of realistic size (textured, so it compresses like a photo: ~2-3 MB)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    img = Image.fromarray(small).resize(size, Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarize(values: list[float]) -> dict[str, object]:
    ms = [v * 1000 for v in values]
    return {
        "requests": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
    }


def server_times(access_log: Path) -> dict[str, list[float]]:
    """What gunicorn measured per request (from reading the request to the response written): the rest
    of what the client saw is waiting for a worker thread (and the GIL) or the client itself."""
    out: dict[str, list[float]] = {"upload": [], "poll": []}
    for line in access_log.read_text().splitlines():
        method, path, _status, micros = line.split()
        if method == "POST" and path.endswith(("/sessions/sign", "/sessions/register")):
            out.setdefault(path.rsplit("/", 1)[-1], []).append(int(micros) / 1e6)
        elif method == "POST" and path.endswith("/sessions"):
            out["upload"].append(int(micros) / 1e6)
        elif method == "GET" and path.startswith("/jobs/"):
            out["poll"].append(int(micros) / 1e6)
    return out


def python_clients(
    base: str, clients: list[tuple], photos: list[bytes], seconds: float, stagger: bool
) -> tuple[dict[str, list[tuple[float, float]]], list[str]]:
    """One thread of `requests` per teacher; an exception (reset, timeout) is an error, not a lost thread."""
    results: dict[str, list[tuple[float, float]]] = {"upload": [], "poll": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(len(clients))
    began = time.perf_counter()

    def teacher(idx: int) -> None:
        s, course, token = clients[idx]
        rnd = random.Random(idx)
        n = 0
        barrier.wait()
        if stagger:
            time.sleep(rnd.uniform(0, 3.0))  # this teacher's place in the ~3 s loop
        while time.monotonic() < stop_at:
            n += 1
            photo = photos[rnd.randrange(len(photos))]
            t0 = time.perf_counter()
            try:
                r = s.post(
                    f"{base}/courses/{course}/sessions",
                    data={"csrf_token": token, "date": "2026-11-24", "label": f"P{n}"},
                    files={"photos": (f"room{n}.jpg", photo, "image/jpeg")},
                    allow_redirects=False,
                    timeout=30,
                )
            except requests.RequestException as exc:  # a reset or timeout is an error of the run
                with lock:
                    errors.append(f"upload {type(exc).__name__}")
                continue
            dt = time.perf_counter() - t0
            location = r.headers.get("Location", "")
            ok = r.status_code == 303 and "/jobs/" in location
            with lock:
                if ok:
                    results["upload"].append((dt, t0 - began))
                else:
                    errors.append(f"upload {r.status_code} {location}")
            if not ok:
                continue
            job = location.rsplit("/", 1)[-1]
            for _ in range(3):
                t0 = time.perf_counter()
                try:
                    p = s.get(f"{base}/jobs/{job}.json", timeout=30)
                    status = p.status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                with lock:
                    if status == 200:
                        results["poll"].append((time.perf_counter() - t0, t0 - began))
                    else:
                        errors.append(f"poll {status}")
                time.sleep(1.0)

    threads = [threading.Thread(target=teacher, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return results, errors


def direct_clients(
    base: str, clients: list[tuple], photos: list[bytes], seconds: float, stagger: bool
) -> tuple[dict[str, list[tuple[float, float]]], list[str]]:
    """As python_clients, with each photo sent as the pages send it with S3: sign, POST to S3, register. The
    upload's time is sign + register (the web's part); the S3 POST between them is not counted."""
    import hashlib

    results: dict[str, list[tuple[float, float]]] = {"upload": [], "sign": [], "register": [], "poll": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    barrier = threading.Barrier(len(clients))
    began = time.perf_counter()
    digests = [hashlib.sha256(p).hexdigest() for p in photos]

    def teacher(idx: int) -> None:
        s, course, token = clients[idx]
        s3 = requests.Session()  # the browser's connection to S3 is not the one to the site
        rnd = random.Random(idx)
        n = 0
        barrier.wait()
        if stagger:
            time.sleep(rnd.uniform(0, 3.0))
        while time.monotonic() < stop_at:
            n += 1
            which = rnd.randrange(len(photos))
            photo = photos[which]
            announced = {"name": f"room{n}.jpg", "type": "image/jpeg", "size": len(photo), "sha256": digests[which]}
            try:
                t0 = time.perf_counter()
                r = s.post(
                    f"{base}/courses/{course}/sessions/sign",
                    json={"files": [announced]},
                    headers={"X-CSRFToken": token, "Accept": "application/json"},
                    timeout=30,
                )
                t_sign = time.perf_counter() - t0
                if r.status_code != 200 or not r.json().get("uploads"):
                    with lock:
                        errors.append(f"sign {r.status_code}")
                    continue
                signed = r.json()["uploads"][0]
                put = s3.post(signed["url"], data=signed["fields"], files={"file": ("photo", photo)}, timeout=60)
                if put.status_code != 204:
                    with lock:
                        errors.append(f"s3 {put.status_code}")
                    continue
                t1 = time.perf_counter()
                r = s.post(
                    f"{base}/courses/{course}/sessions/register",
                    data={"csrf_token": token, "date": "2026-11-24", "label": f"P{n}", "ticket": signed["ticket"]},
                    headers={"Accept": "application/json"},
                    timeout=30,
                )
                t_register = time.perf_counter() - t1
            except requests.RequestException as exc:
                with lock:
                    errors.append(f"upload {type(exc).__name__}")
                continue
            job = r.json().get("job_id") if r.status_code == 201 else None
            with lock:
                if job:
                    results["sign"].append((t_sign, t0 - began))
                    results["register"].append((t_register, t1 - began))
                    results["upload"].append((t_sign + t_register, t0 - began))
                else:
                    errors.append(f"register {r.status_code}")
            if not job:
                continue
            for _ in range(3):
                t0 = time.perf_counter()
                try:
                    p = s.get(f"{base}/jobs/{job}.json", timeout=30)
                    status = p.status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                with lock:
                    if status == 200:
                        results["poll"].append((time.perf_counter() - t0, t0 - began))
                    else:
                        errors.append(f"poll {status}")
                time.sleep(1.0)

    threads = [threading.Thread(target=teacher, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return results, errors


def start_s3(stack: Stack) -> str:
    """moto's S3-API server on loopback, a bucket with the CORS rule, and the stack's web pointed at it."""
    import boto3

    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.procs.append(proc)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            requests.get(endpoint, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    bucket = f"bench-{stack.run_id}"
    keys = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1"}
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=bucket)
    rule: Any = {"AllowedOrigins": ["*"], "AllowedMethods": ["POST", "GET"], "AllowedHeaders": ["*"]}
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    stack.env.update({**keys, "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint})
    return endpoint


def wrk_clients(
    base: str, clients: list[tuple], photos: list[bytes], seconds: float, stagger: bool
) -> tuple[dict[str, list[tuple[float, float]]], list[str]]:
    """The same loop driven by wrk (bench/wrk_upload.lua): teacher i always sends photo i % 4."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="attendance-wrk-") as tmp:
        lines = []
        for i, (s, course, token) in enumerate(clients):
            photo = Path(tmp) / f"photo{i % len(photos)}.jpg"
            photo.write_bytes(photos[i % len(photos)])
            cookie = "; ".join(f"{c.name}={c.value}" for c in s.cookies)
            agent = s.headers["User-Agent"]  # the session is bound to it (Flask-Login's session protection)
            lines.append(f"{course}\t{cookie}\t{token}\t{photo}\t{agent}")
        teachers, results_file = Path(tmp) / "teachers.tsv", Path(tmp) / "results.tsv"
        teachers.write_text("\n".join(lines) + "\n")
        n = str(len(clients))
        cmd = [wrk, "-t", n, "-c", n, "-d", f"{seconds:g}s", "--timeout", "30s",
               "-s", str(Path(__file__).with_name("wrk_upload.lua")), base]  # fmt: skip
        env = dict(
            os.environ,
            WRK_TEACHERS=str(teachers),
            WRK_RESULTS=str(results_file),
            WRK_STAGGER=str(int(stagger)),
        )
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=seconds + 120)
        results: dict[str, list[tuple[float, float]]] = {"upload": [], "poll": []}
        errors: list[str] = []
        for line in results_file.read_text().splitlines():
            what, value = line.split("\t", 1)
            if what == "errors":
                errors.append(value)
            else:
                ms, start = value.split("\t")
                results[what[:-1]].append((float(ms) / 1000, float(start)))
    return results, errors


def run(
    teachers: int,
    seconds: float,
    size: tuple[int, int] = (4032, 3024),
    client: str = "python",
    workers: int = 3,
    stagger: bool = False,
    proxy: str | None = None,
    direct: bool = False,
) -> dict:
    photos = [phone_photo(i, size) for i in range(4)]
    with Stack() as stack:
        if direct:
            start_s3(stack)
            s3_server = stack.procs[-1]  # moto: on these cores here, never on the web's in production
        base = stack.start_web(workers=workers)
        nginx = None
        if proxy:
            port = free_port()
            (stack.tmp / "nginx").mkdir()
            nginx = eb_nginx.start(eb_nginx.BUILDERS[proxy](stack.tmp / "nginx", port, stack.port), port)
            stack.procs.append(nginx)
            base = f"http://127.0.0.1:{port}"
        clients = []
        for i in range(teachers):
            s = signup(base, f"load-{i}-{uuid.uuid4().hex[:6]}@school.example.org")
            token = csrf_token(s, base + "/")
            r = s.post(
                base + "/courses",
                data={"csrf_token": token, "name": f"Class {i}"},
                timeout=10,
            )
            course = int(r.url.rstrip("/").rsplit("/", 1)[-1])
            clients.append((s, course, csrf_token(s, f"{base}/courses/{course}")))
        drive = direct_clients if direct else wrk_clients if client == "wrk" else python_clients
        meter = CpuMeter(stack.web_pid)
        nginx_cpu = cpu_seconds(process_tree(nginx.pid)) if nginx else 0.0
        s3_cpu = cpu_seconds(process_tree(s3_server.pid)) if direct else 0.0
        meter.start()
        started = time.monotonic()
        results, errors = drive(base, clients, photos, seconds, stagger)
        elapsed = time.monotonic() - started
        cpu = meter.stop()
        if nginx:  # counted in "other" by the meter; shown on its own
            cpu["cpu_s_nginx"] = round(cpu_seconds(process_tree(nginx.pid)) - nginx_cpu, 1)
        if direct:  # moto's S3 server, likewise: it takes in every photo in Python, on the same cores
            cpu["cpu_s_s3_server"] = round(cpu_seconds(process_tree(s3_server.pid)) - s3_cpu, 1)
        server = server_times(stack.access_log)
    out: dict[str, object] = {
        "client": client,
        "teachers": teachers,
        "start": "staggered over 3 s" if stagger else "together",
        "seconds": round(elapsed, 1),
        "photo": f"{size[0]}x{size[1]}, {len(photos[0]) // 1024} KB",
        "gunicorn": f"--workers {workers} " + os.environ.get("GUNICORN_CMD_ARGS", "--threads 4"),
        "proxy": proxy or "none (clients talk to gunicorn)",
        "upload": "direct to S3 (moto on loopback): sign + register" if direct else "through the web",
        "errors": len(errors),
    }
    for kind, timed in results.items():
        values = [latency for latency, _ in timed]
        name = "upload_request" if kind == "upload" and direct else kind  # not the old figure's kind
        out[name] = {**summarize(values), "per_second": round(len(values) / elapsed, 1)}
        # The same without requests started in the first 5 s (connections opening; a staggered start).
        out[f"{name}_after_5s"] = summarize([latency for latency, start in timed if start >= 5.0])
    for kind, values in server.items():
        out[f"{kind}_in_gunicorn"] = summarize(values)
    if errors:
        out["error_kinds"] = sorted(set(errors))[:10]
    if results["upload"]:
        out["cpu_ms_web_per_loop"] = round(1000 * float(cpu["cpu_s_web"]) / len(results["upload"]), 1)  # type: ignore[arg-type]
    if results["upload"] and direct:  # what one loop's S3 POST (and HEAD) cost moto, beside the web's CPU
        out["cpu_ms_s3_server_per_loop"] = round(1000 * float(cpu["cpu_s_s3_server"]) / len(results["upload"]), 1)  # type: ignore[arg-type]
    out.update(cpu)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--size",
        default="4032x3024",
        help="photo size WIDTHxHEIGHT (default: a 12 MP phone photo)",
    )
    parser.add_argument("--client", choices=("python", "wrk"), default="python", help="load generator")
    parser.add_argument(
        "--workers",
        type=int,
        default=3,
        help="gunicorn worker processes (the Procfile: 3)",
    )
    parser.add_argument(
        "--stagger",
        action="store_true",
        help="each teacher starts at a random point of the ~3 s loop (default: all 50 upload at the same instant)",
    )
    parser.add_argument(
        "--direct",
        action="store_true",
        help="photos straight to S3 (moto on loopback): time sign + register, as the pages do with S3",
    )
    parser.add_argument(
        "--proxy",
        choices=sorted(eb_nginx.BUILDERS),
        help="put production's nginx in front of gunicorn (needs nginx: `make nginx`)",
    )
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    print(
        json.dumps(
            run(
                args.teachers,
                args.seconds,
                (width, height),
                args.client,
                args.workers,
                args.stagger,
                args.proxy,
                args.direct,
            )
        )
    )


if __name__ == "__main__":
    main()
