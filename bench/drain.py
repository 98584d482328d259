"""Queue drain: 200 attendance jobs (one 1080p classroom photo each) with 1 and then 2 worker processes.

    .venv/bin/python -m bench.drain [--jobs 200]

Each worker process is pinned to its own core (taskset) with one ONNX Runtime thread, so the ratio
shows how the worker tier scales out. Prints a JSON line of figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import time
import uuid

from PIL import Image
from sqlalchemy import func, select

from attendance_shared.contracts import AttendancePayload

from .common import facedata_dir
from .stack import REPO, Stack, cpu_seconds, machine_cpu, process_tree


def classroom_photo(variant: int) -> bytes:
    two = Image.open(facedata_dir() / "groups" / "obama_biden" / "class" / "two_people.jpg").convert("RGB")
    canvas = Image.new("RGB", (1920, 1080), (100 + variant % 50, 110, 120))
    canvas.paste(two, (200 + variant % 300, 150))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def seed_jobs(stack: Stack, n: int) -> list[tuple[str, int]]:
    """n sessions of one course with Obama and Biden enrolled; one queued job each (rows committed first)."""
    os.environ.update(stack.env)
    from attendance_shared.db import session_scope
    from attendance_shared.models import (
        AttendanceSession,
        Course,
        Enrollment,
        Job,
        JobKind,
        School,
        SessionPhoto,
        Student,
        StudentPhoto,
        Teacher,
    )  # fmt: skip
    from attendance_shared.settings import get_settings
    from attendance_shared.storage import make_store

    get_settings.cache_clear()
    settings = get_settings()
    store = make_store(settings)
    photo = classroom_photo(0)
    with session_scope(settings.sqlalchemy_url) as s:
        t = Teacher(
            email=f"drain-{uuid.uuid4().hex[:6]}@school.example.org",
            name="D",
            password_hash="x",
            school=School(name="S"),
        )
        s.add(t)
        s.flush()
        course = Course(teacher_id=t.id, name="Drain")
        s.add(course)
        s.flush()
        for name in ("Barack_Obama", "Joe_Biden"):
            st = Student(teacher_id=t.id, name=name, student_number=name)
            s.add(st)
            s.flush()
            s.add(Enrollment(course_id=course.id, student_id=st.id))
            for i, path in enumerate(sorted((facedata_dir() / "groups/obama_biden/enroll" / name).glob("*.jpg"))):
                key = f"student_photos/{t.id}/{st.id}/{i}.jpg"
                store.put(key, path.read_bytes(), "image/jpeg")
                s.add(StudentPhoto(student_id=st.id, storage_key=key, original_filename=path.name,
                                   content_type="image/jpeg", width=1, height=1))  # fmt: skip
        s.flush()
        from attendance_worker.engine import get_engine
        from attendance_worker.enrollment import enroll_photo

        engine = get_engine()
        for photo_id in s.scalars(select(StudentPhoto.id).join(Student).where(Student.teacher_id == t.id)):
            enroll_photo(s, store, engine, photo_id)
        ids = []
        for k in range(n):
            sess = AttendanceSession(course_id=course.id, date=dt.date(2026, 1, 1) + dt.timedelta(days=k), label="P1")
            s.add(sess)
            s.flush()
            key = f"classroom_photos/{t.id}/{sess.id}/room.jpg"
            store.put(key, photo, "image/jpeg")
            s.add(SessionPhoto(session_id=sess.id, storage_key=key, original_filename="room.jpg",
                               content_type="image/jpeg", content_sha256=hashlib.sha256(photo).hexdigest(),
                               width=1920, height=1080))  # fmt: skip
            job = Job(teacher_id=t.id, kind=JobKind.ATTENDANCE, subject_id=sess.id)
            s.add(job)
            s.flush()
            ids.append((job.id, sess.id))
    return ids


def publish_all(ids: list[tuple[str, int]]) -> None:
    from attendance_shared.queue import enqueue, make_celery
    from attendance_shared.settings import get_settings

    settings = get_settings()
    publisher = make_celery(settings)
    for job_id, session_id in ids:
        enqueue(publisher, settings, AttendancePayload(job_id=job_id, session_id=session_id))


def drain(workers: int, n: int) -> dict:
    from attendance_shared.db import session_scope
    from attendance_shared.models import Job, JobState
    from attendance_shared.settings import get_settings

    with Stack() as stack:
        for i in range(workers):  # started and warm (models loaded) before the clock starts
            stack.start_worker(cpu=i % (os.cpu_count() or 1), threads=1)
        seeded = seed_jobs(stack, n)
        job_ids = [j for j, _ in seeded]
        load_before = os.getloadavg()
        worker_pids = [pid for proc in stack.procs for pid in process_tree(proc.pid)]
        cpu_before, (busy_before, total_before) = cpu_seconds(worker_pids), machine_cpu()
        started = time.monotonic()
        published_at = dt.datetime.now(dt.UTC)
        publish_all(seeded)
        url = get_settings().sqlalchemy_url
        deadline = started + 1800
        done = 0
        while time.monotonic() < deadline:
            with session_scope(url) as s:
                finished = Job.state.in_([JobState.SUCCEEDED, JobState.FAILED])
                done = s.scalar(select(func.count()).select_from(Job).where(Job.id.in_(job_ids), finished)) or 0
            if done >= n:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        worker_cpu = cpu_seconds(worker_pids) - cpu_before
        busy, total = machine_cpu()
        busy -= busy_before
        total -= total_before
        with session_scope(url) as s:
            failed_jobs = select(func.count()).select_from(Job).where(Job.id.in_(job_ids), Job.state == JobState.FAILED)
            failed = s.scalar(failed_jobs) or 0
            last = s.scalar(select(func.max(Job.finished_at)).where(Job.id.in_(job_ids)))
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        # The clock stops at the last job's finished_at (written by the worker), not at this loop's next
        # 0.5 s poll: with 200 jobs in ~13 s that poll alone would be up to 4 % of the time.
        seconds = (last - published_at).total_seconds() if last is not None and done >= n else elapsed
    return {"workers": workers, "jobs": n, "done": int(done), "failed": int(failed), "seconds": round(seconds, 2),
            "jobs_per_minute": round(60 * done / seconds, 1), "seconds_polled": round(elapsed, 1),
            # What else ran: the workers' CPU against the whole machine's (PostgreSQL, Redis, this poller, others).
            "load_average_before": [round(v, 2) for v in load_before],
            "load_average_after": [round(v, 2) for v in os.getloadavg()],
            "cpu_s_workers": round(worker_cpu, 1), "cpu_s_rest_of_machine": round(busy - worker_cpu, 1),
            "machine_busy_pct": round(100 * busy / total, 1) if total else None}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    pack = json.loads((REPO / "models" / "default" / "manifest.json").read_text())["model_id"]
    one = drain(1, args.jobs)
    two = drain(2, args.jobs)
    ratio = round(two["jobs_per_minute"] / one["jobs_per_minute"], 2)
    print(json.dumps({"model_pack": pack, "one_worker": one, "two_workers": two, "ratio": ratio}))


if __name__ == "__main__":
    main()
