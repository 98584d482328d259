"""Faults: nothing lost, nothing duplicated. Each test runs its own servers and workers."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from sqlalchemy import func, select

from attendance_shared import migrate
from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    DetectedFace,
    Job,
    JobState,
    SessionPhoto,
    SessionPhotoStatus,
    Teacher,
)
from attendance_shared.settings import Settings, get_settings
from attendance_web import create_app
from tests.conftest import TeacherClient, require_facedata, wait_for
from tests.factories import session_counts
from tests.faults.stack import PrivatePostgres, PrivateRedis, Worker

pytestmark = [pytest.mark.slow, pytest.mark.facedata]


def _classroom(data, width: int = 3200, height: int = 2400) -> bytes:
    """A big photo with the two enrolled people, so recognition takes a few seconds."""
    two = Image.open(data / "groups" / "obama_biden" / "class" / "two_people.jpg").convert("RGB")
    canvas = Image.new("RGB", (width, height), (90, 100, 110))
    canvas.paste(two, (200, 300))
    buf = io.BytesIO()
    canvas.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    return env


def _app_for(monkeypatch, **env: str):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    return create_app(Settings(), TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)


def _teacher(app) -> TeacherClient:
    return TeacherClient(app.test_client(), f"f-{uuid.uuid4().hex[:8]}@school.example.org").signup("Fault")


def _enrolled_course(teacher: TeacherClient, data) -> tuple[int, dict[str, int]]:
    group = data / "groups" / "obama_biden"
    course = teacher.create_course(f"Faults {uuid.uuid4().hex[:4]}")
    ids = {}
    for name in ("Barack_Obama", "Joe_Biden"):
        ids[name] = teacher.add_student(course, name.replace("_", " "), name)
        teacher.upload_portraits(ids[name], *sorted((group / "enroll" / name).glob("*.jpg")))
    return course, ids


def _session_counts(url: str, session_id: int) -> tuple[int, int, int]:
    return session_counts(session_id, url)


def test_worker_killed_mid_job_is_redelivered_and_completes_once(monkeypatch):
    data = require_facedata()
    prefix = f"kill{uuid.uuid4().hex[:6]}-"
    app = _app_for(monkeypatch, QUEUE_PREFIX=prefix)
    teacher = _teacher(app)
    course, _ids = _enrolled_course(teacher, data)
    worker = Worker(_env(QUEUE_PREFIX=prefix), prefix)
    worker.start()
    try:
        wait_for(
            lambda: all(j["done"] for j in [teacher.job(x) for x in _enrollment_jobs(app)]), 180, 0.5, "enrollment"
        )
        photos = [(_classroom(data, 3200 + 32 * i), f"room{i}.jpg") for i in range(4)]
        job_id = teacher.take_attendance(course, *photos)
        url = app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url
        with session_scope(url) as s:
            session_id = s.get(Job, job_id).subject_id
        # Kill the process doing the work once the first photo is done and the job is not.
        wait_for(
            lambda: _session_counts(url, session_id)[2] >= 1, 240, 0.1, "first photo done\n" + worker.text()[-2000:]
        )
        assert not teacher.job(job_id)["done"]
        for pid in worker.pool_children():
            os.kill(pid, signal.SIGKILL)
        job = teacher.wait_job(job_id, timeout=300)
        assert job["state"] == "succeeded", (job, worker.text()[-3000:])
        assert "WorkerLostError" in worker.text() or "SIGKILL" in worker.text()
        with session_scope(url) as s:
            assert s.get(Job, job_id).attempts >= 2
        _faces, records, done = _session_counts(url, session_id)
        assert done == 4 and records == 2
        with session_scope(url) as s:
            per_photo = s.execute(
                select(SessionPhoto.face_count, func.count(DetectedFace.id))
                .join(DetectedFace)
                .where(SessionPhoto.session_id == session_id)
                .group_by(SessionPhoto.id, SessionPhoto.face_count)
            ).all()
        assert all(n == c for n, c in per_photo)  # exactly one set of faces per photo
    finally:
        worker.stop()


def _enrollment_jobs(app) -> list[str]:
    from attendance_shared.models import JobKind

    with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
        return list(
            s.scalars(
                select(Job.id).where(Job.kind == JobKind.ENROLLMENT, Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
            )
        )


def test_redis_restart_loses_no_job(monkeypatch):
    """The broker forgets the message; the jobs table does not, and the sweeper sends it again."""
    data = require_facedata()
    redis_server = PrivateRedis()
    redis_server.start()
    prefix = f"rr{uuid.uuid4().hex[:6]}-"
    try:
        app = _app_for(monkeypatch, REDIS_URL=redis_server.url, QUEUE_PREFIX=prefix)
        teacher = _teacher(app)
        course = teacher.create_course("Redis restart")
        job_id = teacher.take_attendance(course, (_classroom(data, 1280, 960), "room.jpg"))
        redis_server.kill()
        assert app.test_client().get("/healthz").status_code == 503
        redis_server.start()  # empty: the queued message is gone
        url = app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url
        with session_scope(url) as s:
            job = s.get(Job, job_id)
            assert job.state == JobState.QUEUED
            job.deadline = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)  # time passes
        from attendance_worker.maintenance import sweep_stuck_jobs

        assert sweep_stuck_jobs() >= 1
        worker = Worker(_env(REDIS_URL=redis_server.url, QUEUE_PREFIX=prefix), prefix)
        worker.start()
        try:
            assert teacher.wait_job(job_id, 180)["state"] == "succeeded", worker.text()[-2000:]
        finally:
            worker.stop()
    finally:
        redis_server.kill()
        get_settings.cache_clear()


def test_redis_down_uploads_still_land_and_the_load_balancer_keeps_the_instance(monkeypatch):
    """What /healthz/ready's 200 "degraded" promises: with Redis down a teacher can still sign in and upload;
    the job waits in the database (the sweeper sends it when Redis is back)."""
    data = require_facedata()
    redis_server = PrivateRedis()
    redis_server.start()
    try:
        app = _app_for(monkeypatch, REDIS_URL=redis_server.url, QUEUE_PREFIX=f"rd{uuid.uuid4().hex[:6]}-")
        teacher = _teacher(app)
        course = teacher.create_course("Redis down")
        redis_server.kill()
        job_id = teacher.take_attendance(course, (_classroom(data, 1280, 960), "room.jpg"))
        ready = app.test_client().get("/healthz/ready")
        assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
        assert app.test_client().get("/healthz").status_code == 503
        with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
            assert s.get(Job, job_id).state == JobState.QUEUED
    finally:
        redis_server.kill()
        get_settings.cache_clear()


def test_postgres_restart_web_503_then_recovers_and_worker_retries(monkeypatch):
    data = require_facedata()
    pg = PrivatePostgres()
    pg.start()
    prefix = f"pg{uuid.uuid4().hex[:6]}-"
    try:
        migrate.upgrade(pg.url)
        app = _app_for(monkeypatch, DATABASE_URL=pg.url, QUEUE_PREFIX=prefix, TASK_MAX_RETRIES="6")
        teacher = _teacher(app)
        course = teacher.create_course("PG restart")
        job_id = teacher.take_attendance(course, (_classroom(data, 1280, 960), "room.jpg"))
        pg.stop()
        health = app.test_client().get("/healthz")
        assert health.status_code == 503 and any("database" in p for p in health.get_json()["problems"])
        page = teacher.client.get(f"/courses/{course}")
        assert page.status_code == 503 and b"briefly unavailable" in page.data
        worker = Worker(_env(DATABASE_URL=pg.url, QUEUE_PREFIX=prefix, TASK_MAX_RETRIES="6"), prefix)
        worker.start()
        try:
            wait_for(lambda: "Retry in" in worker.text(), 120, 0.3, "a retry while the database is down")
            pg.start()
            assert app.test_client().get("/healthz").status_code == 200
            assert teacher.client.get(f"/courses/{course}").status_code == 200
            assert teacher.wait_job(job_id, 180)["state"] == "succeeded", worker.text()[-3000:]
            with session_scope(pg.url) as s:
                sess = s.scalar(select(AttendanceSession))
                photo = s.scalar(select(SessionPhoto).where(SessionPhoto.session_id == sess.id))
                assert photo.status == SessionPhotoStatus.DONE and photo.annotated_key
        finally:
            worker.stop()
    finally:
        from attendance_shared.db import engine_for

        engine_for(pg.url).dispose()
        pg.destroy()
        get_settings.cache_clear()


class _FailingS3(BaseHTTPRequestHandler):
    """An S3 endpoint that answers 503 to everything (a real HTTP server, failing like S3 can)."""

    def _fail(self) -> None:
        body = b"<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _fail

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def failing_s3():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


S3_FAIL_ENV = {
    "S3_BUCKET": "b",
    "AWS_ACCESS_KEY_ID": "k",
    "AWS_SECRET_ACCESS_KEY": "s",
    "S3_READ_TIMEOUT": "1",
    "S3_CONNECT_TIMEOUT": "1",
}


def test_s3_errors_leave_nothing_half_stored(monkeypatch, failing_s3):
    app = _app_for(monkeypatch, S3_ENDPOINT_URL=failing_s3, **S3_FAIL_ENV)
    teacher = _teacher(app)
    course = teacher.create_course("S3 down")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buf, "JPEG")
    r = teacher.client.post(
        f"/courses/{course}/sessions",
        data={"date": "2026-11-24", "label": "P1", "photos": [(io.BytesIO(buf.getvalue()), "a.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert b"photo store is not answering; nothing was saved" in r.data
    with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(SessionPhoto)
                .join(AttendanceSession)
                .where(AttendanceSession.course_id == course)
            )
            == 0
        )
        teacher_id = s.scalar(select(Teacher.id).where(Teacher.email == teacher.email))
        assert s.scalar(select(func.count()).select_from(Job).where(Job.teacher_id == teacher_id)) == 0


def test_s3_errors_in_the_worker_end_in_a_failed_job_with_the_reason(monkeypatch, failing_s3):
    from tests.factories import seed_course

    ids = seed_course({}, [("room.jpg", b"\xff\xd8 not really stored")])
    for k, v in {"S3_ENDPOINT_URL": failing_s3, **S3_FAIL_ENV, "TASK_MAX_RETRIES": "2"}.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    from attendance_worker.tasks import process_session_task

    try:
        result = process_session_task.apply(kwargs={"job_id": ids["job"], "session_id": ids["session"]})
        assert result.failed()
        with session_scope(get_settings().sqlalchemy_url) as s:
            job = s.get(Job, ids["job"])
            assert job.state == JobState.FAILED
            assert "photo store did not answer" in job.error
            assert (
                s.scalar(
                    select(func.count())
                    .select_from(AttendanceRecord)
                    .where(AttendanceRecord.session_id == ids["session"])
                )
                == 0
            )
    finally:
        get_settings.cache_clear()


def test_the_same_session_submitted_twice_at_once_makes_one_session(app):
    teacher = TeacherClient(app.test_client(), f"twice-{uuid.uuid4().hex[:6]}@school.example.org").signup("Twice")
    course = teacher.create_course("Race")
    second = TeacherClient(app.test_client(), teacher.email, teacher.password)
    second.client.post("/login", data={"email": teacher.email, "password": teacher.password})
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 200, 30)).save(buf, "JPEG")
    photo = buf.getvalue()
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def submit(client) -> None:
        barrier.wait()
        r = client.client.post(
            f"/courses/{course}/sessions",
            data={"date": "2026-11-25", "label": "Period 3", "photos": [(io.BytesIO(photo), "room.jpg")]},
            content_type="multipart/form-data",
        )
        codes.append(r.status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in (teacher, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert codes == [303, 303]
    with session_scope(app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url) as s:
        sessions = s.scalars(select(AttendanceSession).where(AttendanceSession.course_id == course)).all()
        assert len(sessions) == 1
        assert (
            s.scalar(select(func.count()).select_from(SessionPhoto).where(SessionPhoto.session_id == sessions[0].id))
            == 1
        )
