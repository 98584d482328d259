"""50 teachers at once, uploading classroom photos and polling their jobs, against gunicorn main:app.

    .venv/bin/python -m bench.load [--teachers 50] [--seconds 60]

The upload request only checks, stores and enqueues (no worker runs here, so the queue only grows):
this measures the web tier. Bounded in time; loopback only. Prints a JSON line of figures.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import threading
import time
import uuid

import numpy as np
from PIL import Image

from .stack import Stack, csrf_token, signup


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


def run(teachers: int, seconds: float, size: tuple[int, int] = (4032, 3024)) -> dict:
    photos = [phone_photo(i, size) for i in range(4)]
    results: dict[str, list[float]] = {"upload": [], "poll": []}
    errors: list[str] = []
    lock = threading.Lock()
    with Stack() as stack:
        base = stack.start_web(workers=3)
        clients = []
        for i in range(teachers):
            s = signup(base, f"load-{i}-{uuid.uuid4().hex[:6]}@school.example.org")
            token = csrf_token(s, base + "/")
            r = s.post(base + "/courses", data={"csrf_token": token, "name": f"Class {i}"}, timeout=10)
            course = int(r.url.rstrip("/").rsplit("/", 1)[-1])
            clients.append((s, course, csrf_token(s, f"{base}/courses/{course}")))
        stop_at = time.monotonic() + seconds
        barrier = threading.Barrier(teachers)

        def teacher(idx: int) -> None:
            s, course, token = clients[idx]
            rnd = random.Random(idx)
            n = 0
            barrier.wait()
            while time.monotonic() < stop_at:
                n += 1
                photo = photos[rnd.randrange(len(photos))]
                t0 = time.perf_counter()
                r = s.post(
                    f"{base}/courses/{course}/sessions",
                    data={"csrf_token": token, "date": "2026-11-24", "label": f"P{n}"},
                    files={"photos": (f"room{n}.jpg", photo, "image/jpeg")},
                    allow_redirects=False,
                    timeout=30,
                )
                dt = time.perf_counter() - t0
                location = r.headers.get("Location", "")
                ok = r.status_code == 303 and "/jobs/" in location
                with lock:
                    if ok:
                        results["upload"].append(dt)
                    else:
                        errors.append(f"upload {r.status_code} {location}")
                if not ok:
                    continue
                job = location.rsplit("/", 1)[-1]
                for _ in range(3):
                    t0 = time.perf_counter()
                    p = s.get(f"{base}/jobs/{job}.json", timeout=30)
                    with lock:
                        if p.status_code == 200:
                            results["poll"].append(time.perf_counter() - t0)
                        else:
                            errors.append(f"poll {p.status_code}")
                    time.sleep(1.0)

        threads = [threading.Thread(target=teacher, args=(i,)) for i in range(teachers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 120)
        elapsed = time.monotonic() - started
    out = {
        "teachers": teachers,
        "seconds": round(elapsed, 1),
        "photo": f"{size[0]}x{size[1]}, {len(photos[0]) // 1024} KB",
        "errors": len(errors),
    }
    for kind, values in results.items():
        ms = [v * 1000 for v in values]
        out[kind] = {
            "requests": len(ms),
            "per_second": round(len(ms) / elapsed, 1),
            "p50_ms": round(percentile(ms, 50), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1) if ms else None,
            "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
        }
    if errors:
        out["error_kinds"] = sorted(set(errors))[:10]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--size", default="4032x3024", help="photo size WIDTHxHEIGHT (default: a 12 MP phone photo)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    print(json.dumps(run(args.teachers, args.seconds, (width, height))))


if __name__ == "__main__":
    main()
