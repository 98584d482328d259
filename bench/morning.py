"""A school's morning peak: 100 teachers, 600 classroom photos arriving over 10 minutes, against 1, 2 and 4 workers.

    .venv/bin/python -m bench.morning [--teachers 100] [--photos 600] [--window-s 600] [--compress 1]
                                      [--workers 1,2,4] [--seed 7]

Each teacher takes attendance for two lessons, three photos each (200 jobs of 3 photos); the lessons arrive at
seeded random times, uniform over the window. `--compress K` replays the same schedule K times faster (the window
becomes window-s / K): the arrival rate is K times a real morning's, so queue waits are those of a school K times
as large, while the per-worker figures (photos per busy minute) do not depend on it. A photo is a classroom-like
3.8 MP picture: the Solvay 1927 group (29 faces, none enrolled) above Obama and Biden (both enrolled in every
course); each course has those two students.

Real PostgreSQL, Redis and `celery worker` processes (concurrency 1, one ONNX Runtime thread, pinned with taskset
to core i mod the machine's cores), warm before the clock starts; the jobs' rows (sessions, photos, job) are
written before the clock and each job is published at its arrival time, as the web would after its commit.
Prints one JSON line per worker count and a summary: queue wait (published -> started) p50/p99, time to each
lesson's and each teacher's result (published -> finished; a teacher's is their slower lesson), jobs and photos per
minute over the run and per worker, photos per busy minute per worker (capacity), the workers' CPU-seconds per
photo (what a photo costs on a core of its own, whatever else the machine runs), and the 1 -> 2 worker ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import statistics
import time
import uuid

from PIL import Image
from sqlalchemy import select

from attendance_shared.contracts import AttendancePayload

from .common import facedata_dir
from .stack import REPO, Stack, cpu_seconds, machine_cpu, process_tree

PHOTOS_PER_LESSON = 3
LESSONS_PER_TEACHER = 2


def classroom_photo(variant: int) -> bytes:
    """Solvay 1927 (29 faces) above Obama and Biden, on a 2400x1600 canvas; the variant changes the background."""
    groups = facedata_dir() / "groups"
    solvay = Image.open(groups / "solvay1927" / "solvay1927.jpg").convert("RGB")
    two = Image.open(groups / "obama_biden" / "class" / "two_people.jpg").convert("RGB")
    canvas = Image.new("RGB", (2400, 1600), (90 + variant % 60, 100 + variant % 7, 110))
    canvas.paste(solvay, (176, 0))
    canvas.paste(two, (640, 930))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=88)
    return buf.getvalue()


def schedule(teachers: int, photos: int, window_s: float, seed: int) -> list[tuple[float, int]]:
    """(arrival second, teacher index) per lesson, sorted by time."""
    lessons = max(1, photos // PHOTOS_PER_LESSON)
    rng = random.Random(seed)
    arrivals = [(rng.uniform(0, window_s), i % teachers) for i in range(lessons)]
    return sorted(arrivals)


def seed_school(stack: Stack, teachers: int, arrivals: list[tuple[float, int]]) -> list[tuple[str, int]]:
    """Teachers, each with a course of Obama and Biden (portraits embedded once, the vectors copied to every
    course), and one session of PHOTOS_PER_LESSON photos plus its queued job per arrival. Returns (job, session)
    in arrival order."""
    os.environ.update(stack.env)
    from attendance_shared.db import session_scope
    from attendance_shared.models import (
        AttendanceSession,
        Course,
        Enrollment,
        FaceEmbedding,
        Job,
        JobKind,
        PhotoStatus,
        School,
        SessionPhoto,
        Student,
        StudentPhoto,
        Teacher,
    )
    from attendance_shared.settings import get_settings
    from attendance_shared.storage import make_store
    from attendance_worker.engine import get_engine
    from attendance_worker.enrollment import enroll_photo

    get_settings.cache_clear()
    settings = get_settings()
    store = make_store(settings)
    engine = get_engine()
    variants = [classroom_photo(v) for v in range(PHOTOS_PER_LESSON)]
    shas = [hashlib.sha256(v).hexdigest() for v in variants]
    enroll = facedata_dir() / "groups/obama_biden/enroll"
    names = ("Barack_Obama", "Joe_Biden")
    gallery: dict[str, list[tuple[str, bytes, StudentPhoto, list[FaceEmbedding]]]] = {}
    with session_scope(settings.sqlalchemy_url) as s:
        courses: list[Course] = []
        for t_index in range(teachers):
            t = Teacher(
                email=f"morning-{t_index}-{uuid.uuid4().hex[:6]}@school.example.org",
                name=f"T{t_index}",
                password_hash="x",
                school=School(name=f"School {t_index}"),
            )
            s.add(t)
            s.flush()
            course = Course(teacher_id=t.id, name="Period 1")
            s.add(course)
            s.flush()
            courses.append(course)
            for name in names:
                st = Student(teacher_id=t.id, name=name, student_number=name)
                s.add(st)
                s.flush()
                s.add(Enrollment(course_id=course.id, student_id=st.id))
                for i, path in enumerate(sorted((enroll / name).glob("*.jpg"))):
                    key = f"student_photos/{t.id}/{st.id}/{i}.jpg"
                    store.put(key, path.read_bytes(), "image/jpeg")
                    photo = StudentPhoto(
                        student_id=st.id,
                        storage_key=key,
                        original_filename=path.name,
                        content_type="image/jpeg",
                        width=1,
                        height=1,
                        content_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                    )
                    s.add(photo)
                    s.flush()
                    if t_index == 0:  # embedded once; later courses get copies of the same vectors
                        enroll_photo(s, store, engine, photo.id)
                        s.refresh(photo)
                        vectors = list(
                            s.scalars(select(FaceEmbedding).where(FaceEmbedding.student_photo_id == photo.id))
                        )
                        gallery.setdefault(name, []).append((key, b"", photo, vectors))
                    else:
                        model = gallery[name][i][2]
                        photo.status, photo.face_box = model.status, model.face_box
                        photo.width, photo.height = model.width, model.height
                        for v in gallery[name][i][3]:
                            s.add(
                                FaceEmbedding(
                                    student_id=st.id,
                                    student_photo_id=photo.id,
                                    model_id=v.model_id,
                                    dim=v.dim,
                                    vector=v.vector,
                                )
                            )
        accepted = s.scalars(
            select(StudentPhoto.status).join(Student).where(Student.teacher_id == courses[0].teacher_id)
        )
        assert set(accepted) == {PhotoStatus.ACCEPTED}, "the enrollment portraits were refused"
        jobs: list[tuple[str, int]] = []
        lessons_of: dict[int, int] = {}
        for _at, t_index in arrivals:
            course = courses[t_index]
            lesson = lessons_of[t_index] = lessons_of.get(t_index, 0) + 1
            sess = AttendanceSession(course_id=course.id, date=dt.date(2026, 12, 7), label=f"Lesson {lesson}")
            s.add(sess)
            s.flush()
            for p, (data, sha) in enumerate(zip(variants, shas, strict=True)):
                key = f"classroom_photos/{course.teacher_id}/{sess.id}/room{p}.jpg"
                store.put(key, data, "image/jpeg")
                s.add(
                    SessionPhoto(
                        session_id=sess.id,
                        storage_key=key,
                        original_filename=f"room{p}.jpg",
                        content_type="image/jpeg",
                        content_sha256=sha,
                        width=2400,
                        height=1600,
                    )
                )
            job = Job(teacher_id=course.teacher_id, kind=JobKind.ATTENDANCE, subject_id=sess.id)
            s.add(job)
            s.flush()
            jobs.append((job.id, sess.id))
    return jobs


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank), 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))], 1)


def replay(workers: int, args: argparse.Namespace) -> dict:
    from attendance_shared.db import session_scope
    from attendance_shared.models import Job, JobState
    from attendance_shared.queue import enqueue, make_celery
    from attendance_shared.settings import get_settings

    arrivals = schedule(args.teachers, args.photos, args.window_s, args.seed)
    with Stack() as stack:
        for i in range(workers):
            stack.start_worker(cpu=i % (os.cpu_count() or 1), threads=1)
        jobs = seed_school(stack, args.teachers, arrivals)
        settings = get_settings()
        publisher = make_celery(settings)
        teacher_of = {job_id: t for (job_id, _s), (_at, t) in zip(jobs, arrivals, strict=True)}
        published: dict[str, dt.datetime] = {}
        load_before = os.getloadavg()
        worker_pids = [pid for proc in stack.procs for pid in process_tree(proc.pid)]
        cpu_before, (busy_before, total_before) = cpu_seconds(worker_pids), machine_cpu()
        started = time.monotonic()
        for (job_id, session_id), (at, _t) in zip(jobs, arrivals, strict=True):
            delay = started + at / args.compress - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            published[job_id] = dt.datetime.now(dt.UTC)
            enqueue(publisher, settings, AttendancePayload(job_id=job_id, session_id=session_id))
        url = settings.sqlalchemy_url
        ids = list(published)
        deadline = time.monotonic() + args.timeout_s
        rows: list = []
        while time.monotonic() < deadline:
            with session_scope(url) as s:
                rows = s.execute(
                    select(Job.id, Job.state, Job.started_at, Job.finished_at, Job.attempts).where(Job.id.in_(ids))
                ).all()
            if all(r.state in (JobState.SUCCEEDED, JobState.FAILED) for r in rows):
                break
            time.sleep(1.0)
        elapsed = time.monotonic() - started
        worker_cpu = cpu_seconds(worker_pids) - cpu_before
        busy, total = machine_cpu()
        busy, total = busy - busy_before, total - total_before

    def aware(moment: dt.datetime) -> dt.datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    done = [r for r in rows if r.state == JobState.SUCCEEDED and r.started_at and r.finished_at]
    waits = [(aware(r.started_at) - published[r.id]).total_seconds() for r in done]
    results = [(aware(r.finished_at) - published[r.id]).total_seconds() for r in done]
    runs = [(aware(r.finished_at) - aware(r.started_at)).total_seconds() for r in done]
    per_teacher: dict[int, float] = {}
    for r, result in zip(done, results, strict=True):
        per_teacher[teacher_of[r.id]] = max(per_teacher.get(teacher_of[r.id], 0.0), result)
    first = min(published.values())
    last = max((aware(r.finished_at) for r in done), default=first)
    span_min = max((last - first).total_seconds(), 1e-6) / 60
    photos_done = PHOTOS_PER_LESSON * len(done)
    return {
        "workers": workers,
        "lessons": len(ids),
        "photos": PHOTOS_PER_LESSON * len(ids),
        "done": len(done),
        "failed": sum(r.state == JobState.FAILED for r in rows),
        "redelivered": sum(r.attempts > 1 for r in rows),
        "arrival_window_s": round(args.window_s / args.compress, 1),
        "run_s": round(span_min * 60, 1),
        "queue_wait_s": {"p50": pct(waits, 50), "p99": pct(waits, 99), "max": pct(waits, 100)},
        "lesson_result_s": {"p50": pct(results, 50), "p99": pct(results, 99), "max": pct(results, 100)},
        "teacher_result_s": {
            "p50": pct(list(per_teacher.values()), 50),
            "p99": pct(list(per_teacher.values()), 99),
            "max": pct(list(per_teacher.values()), 100),
        },
        "jobs_per_min": round(len(done) / span_min, 1),
        "photos_per_min": round(photos_done / span_min, 1),
        "photos_per_min_per_worker": round(photos_done / span_min / workers, 1),
        "jobs_per_min_per_worker": round(len(done) / span_min / workers, 1),
        # capacity: photos per minute of a worker's busy time (each worker runs one job at a time)
        "photos_per_busy_min_per_worker": round(60 * photos_done / sum(runs), 1) if runs else None,
        "job_run_s_p50": round(statistics.median(runs), 2) if runs else None,
        "seconds_polled": round(elapsed, 1),
        "load_average_before": [round(v, 2) for v in load_before],
        "cpu_s_workers": round(worker_cpu, 1),
        # what a photo costs whatever else the machine runs: a quiet core does 60 / this photos a minute
        "worker_cpu_s_per_photo": round(worker_cpu / photos_done, 2) if photos_done else None,
        "cpu_s_rest_of_machine": round(busy - worker_cpu, 1),
        "machine_busy_pct": round(100 * busy / total, 1) if total else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--teachers", type=int, default=100)
    parser.add_argument("--photos", type=int, default=600)
    parser.add_argument("--window-s", type=float, default=600.0)
    parser.add_argument("--compress", type=float, default=1.0, help="replay the arrivals this many times faster")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="per worker count, after the last arrival")
    args = parser.parse_args()
    pack = json.loads((REPO / "models" / "default" / "manifest.json").read_text())["model_id"]
    phases = {}
    for n in [int(x) for x in args.workers.split(",") if x.strip()]:
        phases[n] = replay(n, args)
        print(json.dumps({"model_pack": pack, "cores": os.cpu_count(), **phases[n]}), flush=True)
    summary: dict[str, object] = {"model_pack": pack, "cores": os.cpu_count(), "compress": args.compress}
    if 1 in phases and 2 in phases and phases[1]["photos_per_min"]:
        summary["ratio_1_to_2"] = round(phases[2]["photos_per_min"] / phases[1]["photos_per_min"], 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
