"""Test infrastructure: real PostgreSQL, Redis, an S3-API server on loopback and a real Celery worker.

Each run gets its own PostgreSQL database (migrated with Alembic, never create_all), its own Redis
database number and queue prefix, and its own photo directory, so runs never see each other's data.
The database is created on first use (the `database` fixture), so a test that needs none starts none.

`make test-fast` (`pytest -m fast --db sqlite`): the tests that need no PostgreSQL, Redis, worker, browser,
face photos, PDF fonts or deployment tools, the web on a SQLite file migrated with Alembic. The `fast` marker is
assigned here from the fixtures and markers a test uses (FAST_EXCLUDED_*), so a new unit test joins it as is;
one asserting PostgreSQL's own behaviour is marked `postgres` (one needing Redis `redis`, the fonts `fonts`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUN_ID = uuid.uuid4().hex[:8]
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
TEST_DB = f"attendance_test_{RUN_ID}"
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TMP = Path(tempfile.mkdtemp(prefix=f"attendance-test-{RUN_ID}-"))
# --db sqlite: the file in memory where there is a /dev/shm (a commit waits for no disk), else in TMP.
SQLITE_FILE = (Path("/dev/shm") if Path("/dev/shm").is_dir() else TMP) / f"attendance-test-{RUN_ID}.sqlite"


def _pg_url(db: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + db


def facedata_dir() -> Path:
    """../shared/facedata, or FACEDATA_DIR: the one place the tests read real face photos from."""
    return Path(os.environ.get("FACEDATA_DIR", ROOT.parent / "shared" / "facedata")).resolve()


def require_facedata() -> Path:
    """The real-photo tests: skipped on a laptop without ../shared/facedata, a failure in CI."""
    path = facedata_dir()
    if not (path / "lfw").is_dir() or not (path / "groups").is_dir():
        reason = f"face photos not found at {path} (set FACEDATA_DIR, or place the shared folder beside the repo)"
        if os.environ.get("REQUIRE_FACEDATA") == "1":
            pytest.fail(reason + "; REQUIRE_FACEDATA=1 makes this a failure")
        pytest.skip(reason)
    return path


def _admin_exec(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("postgresql", "sqlite"),
        default="postgresql",
        help="the web's database: this run's PostgreSQL database (default), or a SQLite file with no Redis "
        "(make test-fast; tests that are not fast are skipped)",
    )


def on_sqlite(config: pytest.Config) -> bool:
    return bool(config.getoption("db") == "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    """Point every process of this run (the app and the worker) at this run's databases via the env."""
    os.environ.update(
        {
            "FLASK_ENV": "testing",
            "DATABASE_URL": _pg_url(TEST_DB),
            "REDIS_URL": REDIS_TEST_URL,
            "QUEUE_PREFIX": f"t{RUN_ID}-",
            "INSTANCE_DIR": str(TMP / "instance"),
            "STORAGE_DIR": str(TMP / "photos"),
            "SECRET_KEY": "test-secret-key",
            "MODEL_PACK": str(Path(os.environ.get("MODEL_PACK", ROOT / "models" / "default")).resolve()),
            "TASK_MAX_RETRIES": "2",
        }
    )
    os.environ.pop("S3_BUCKET", None)
    if on_sqlite(config):  # no server: a SQLite file and kombu's filesystem broker (under INSTANCE_DIR)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        os.environ.pop("REDIS_URL")
        _skip_costs_the_fast_tests_do_not_check()
    _share_url_builders()


def _skip_costs_the_fast_tests_do_not_check() -> None:
    """--db sqlite, to stay within a minute: passwords hashed with a 1-round pbkdf2 (scrypt took a third of a second
    per sign-up; these tests check what the app does with a hash, not its cost), and PDFs printed in core Helvetica
    whatever fonts the machine has (parsing DejaVu Sans took a quarter of a second per PDF), so the run is the same
    with or without `make fonts`. The tests that need the real fonts are marked `fonts` and run under make test."""
    import werkzeug.security

    from attendance_web.reports import pdf_export

    werkzeug.security.generate_password_hash.__defaults__ = ("pbkdf2:sha256:1", 16)
    pdf_export.FONT_CANDIDATES = pdf_export.FALLBACK_FONT_CANDIDATES = ()


def _share_url_builders() -> None:
    """Each test's app compiles every route's URL builder again (werkzeug generates and compiles Python per rule:
    most of create_app's time, a sixth of make test-fast). The generated function depends only on the rule's text,
    parts, defaults and converters, and takes the rule as its first argument, so the same rule in every app of the
    run shares one compiled builder."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[tuple, object] = {}

    def shared_builder(rule: Rule, append_unknown: bool = True):  # type: ignore[no-untyped-def]
        converters = tuple((name, type(c), c.regex) for name, c in sorted(rule._converters.items()))
        key = (rule.rule, repr(rule.defaults), tuple(rule._trace), append_unknown, converters)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = shared_builder  # type: ignore[method-assign]


# What keeps a test out of `make test-fast`: fixtures that start the real worker, a server or a browser, or read
# real photos (fixtures that use these count too); markers for the rest; whole folders: the deployment checks (they
# run hadolint, nginx, the containers' commands and the lock tools as processes), the browser and the fault tests
# (not even collected with --db sqlite). Tests on the model pack need models/default.
FAST_EXCLUDED_FIXTURES = frozenset(
    {"celery_worker_process", "live_server", "s3_server", "chromium", "facedata", "scratch_database", "scratch_redis"}
)
FAST_EXCLUDED_MARKERS = ("slow", "browser", "facedata", "postgres", "redis", "fonts")
FAST_EXCLUDED_FOLDERS = tuple(ROOT / "tests" / name for name in ("deploy", "browser", "faults"))
MODEL_PACK_FIXTURES = frozenset({"pack_dir", "engine"})


def is_fast(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    if fixtures & FAST_EXCLUDED_FIXTURES or any(item.get_closest_marker(m) for m in FAST_EXCLUDED_MARKERS):
        return False
    if any(Path(item.path).is_relative_to(folder) for folder in FAST_EXCLUDED_FOLDERS):
        return False
    pack = Path(os.environ.get("MODEL_PACK", ROOT / "models" / "default"))
    return not (fixtures & MODEL_PACK_FIXTURES) or (pack / "manifest.json").is_file()


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """--db sqlite: the folders with no fast test are not imported (their modules load Playwright, the engine...)."""
    return True if on_sqlite(config) and collection_path in FAST_EXCLUDED_FOLDERS else None


@pytest.hookimpl(tryfirst=True)  # before `-m fast` deselects
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the fast tests; with --db sqlite, skip the others (they need PostgreSQL, Redis or more)."""
    not_fast = pytest.mark.skip(reason="not a fast test: it runs under make test (PostgreSQL, Redis, ...)")
    for item in items:
        if is_fast(item):
            item.add_marker(pytest.mark.fast)
        elif on_sqlite(config):
            item.add_marker(not_fast)


_created: list[str] = []  # the database URL, once the `database` fixture has made it


@pytest.fixture(scope="session")
def database() -> str:
    """This run's database, created and migrated (Alembic, never create_all) by the first test that needs it."""
    from attendance_shared import migrate
    from attendance_shared.settings import get_settings

    url = os.environ["DATABASE_URL"]
    if url.startswith("postgresql"):
        _admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
        _admin_exec(f'CREATE DATABASE "{TEST_DB}"')
    get_settings.cache_clear()
    migrate.upgrade(url)
    _created.append(url)
    return url


def pytest_unconfigure(config: pytest.Config) -> None:
    from attendance_shared.db import engine_for

    for url in _created:
        try:
            engine_for(url).dispose()
        except Exception:
            pass
    if _created and _created[0].startswith("postgresql"):
        try:
            _admin_exec(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)')
        except Exception:
            pass
    if not on_sqlite(config):
        _drop_run_keys()
    shutil.rmtree(TMP, ignore_errors=True)
    for path in SQLITE_FILE.parent.glob(SQLITE_FILE.name + "*"):  # with its -wal and -shm
        path.unlink(missing_ok=True)


def _drop_run_keys() -> None:
    """Messages no worker consumed (tests that only enqueue) and rate-limit counters of this run."""
    try:
        import redis

        r = redis.Redis.from_url(REDIS_TEST_URL)
        for key in r.scan_iter(match=f"*t{RUN_ID}-*", count=500):
            r.delete(key)
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:port (a server we started is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, a grace period for a clean shutdown, then SIGKILL: no test leaves a server behind."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def facedata() -> Path:
    """../shared/facedata, checked before anything starts (skip, or fail with REQUIRE_FACEDATA=1)."""
    return require_facedata()


class TemplateCodeCache(jinja2.BytecodeCache):
    """Jinja's compiled templates kept for the run: each test's app would compile every page it renders again.
    Jinja checks each template's source checksum, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self.codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.codes:
            bucket.bytecode_from_string(self.codes[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = TemplateCodeCache()


# --- the web app ----------------------------------------------------------------------------------


@pytest.fixture()
def app(database):
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    flask_app = create_app(TESTING=True, WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
    flask_app.jinja_env.bytecode_cache = TEMPLATE_CODE
    yield flask_app


@pytest.fixture()
def client(app):
    return app.test_client()


class TeacherClient:
    """A logged-in teacher driving the app the way a browser does."""

    def __init__(self, client, email: str, password: str = "correct horse battery") -> None:
        self.client = client
        self.email = email
        self.password = password

    def signup(self, name: str = "Teacher") -> TeacherClient:
        """Sign up, then sign in (sign-up never signs in: it does not say whether the address had an account)."""
        r = self.client.post(
            "/signup", data={"name": name, "email": self.email, "password": self.password, "confirm": self.password}
        )
        assert r.status_code == 303 and r.location.endswith("/login"), r.data[:500]
        r = self.client.post("/login", data={"email": self.email, "password": self.password})
        assert r.status_code == 302, r.data[:500]
        return self

    def create_course(self, name: str = "Biology") -> int:
        r = self.client.post("/courses", data={"name": name})
        assert r.status_code == 302
        return int(r.location.rstrip("/").rsplit("/", 1)[-1])

    def add_student(self, course_id: int, name: str, number: str) -> int:
        r = self.client.post(f"/courses/{course_id}/students", data={"name": name, "student_number": number})
        assert r.status_code == 302, r.data[:300]
        return int(r.location.rstrip("/").rsplit("/", 1)[-1])

    def upload_portraits(self, student_id: int, *paths_or_bytes) -> None:
        files = [_file(p) for p in paths_or_bytes]
        r = self.client.post(
            f"/students/{student_id}/photos", data={"photos": files}, content_type="multipart/form-data"
        )
        assert r.status_code == 303

    def take_attendance(self, course_id: int, *photos, date: str = "2026-11-24", label: str = "Period 1") -> str | None:
        files = [_file(p) for p in photos]
        r = self.client.post(
            f"/courses/{course_id}/sessions",
            data={"date": date, "label": label, "photos": files},
            content_type="multipart/form-data",
        )
        assert r.status_code == 303
        m = re.search(r"/jobs/([0-9a-f]+)$", r.location)
        return m.group(1) if m else None

    def job(self, job_id: str) -> dict:
        r = self.client.get(f"/jobs/{job_id}.json")
        assert r.status_code == 200
        return r.get_json()

    def wait_job(self, job_id: str, timeout: float = 180) -> dict:
        return wait_for(lambda: (j := self.job(job_id))["done"] and j, timeout, 0.5, f"job {job_id}")


def _file(p):
    import io

    if isinstance(p, (str, Path)):
        return (io.BytesIO(Path(p).read_bytes()), Path(p).name)
    data, name = p
    return (io.BytesIO(data), name)


@pytest.fixture()
def teacher_factory(app):
    def make(name: str = "Teacher") -> TeacherClient:
        return TeacherClient(app.test_client(), f"{name.lower()}-{uuid.uuid4().hex[:8]}@school.example.org").signup(
            name
        )

    return make


@pytest.fixture()
def teacher(teacher_factory) -> TeacherClient:
    return teacher_factory("Alice")


# --- a real worker --------------------------------------------------------------------------------


@pytest.fixture()
def jobs_not_sent(monkeypatch):
    """Jobs are created (rows, committed) but not sent to the broker, for tests that write "what the worker
    would write" by hand: the worker fixture is session-wide, so a worker started by an earlier test would
    otherwise process these jobs and overwrite the hand-written state."""
    import attendance_web.jobs_service

    monkeypatch.setattr(attendance_web.jobs_service, "publish", lambda job: True)


@pytest.fixture(scope="session")
def celery_worker_process(database: str) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process consuming this run's queues from Redis."""
    from attendance_shared.contracts import ALL_QUEUES
    from attendance_worker.engine.runtime import with_malloc_tunables

    prefix = os.environ["QUEUE_PREFIX"]
    log = open(TMP / "worker.log", "wb")
    proc = subprocess.Popen(
        [str(BIN / "celery"), "-A", "attendance_worker.celery_app", "worker", "--loglevel", "INFO",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "--hostname", f"test-{RUN_ID}@%h", "--queues", ",".join(prefix + q for q in ALL_QUEUES)],
        env=with_malloc_tunables(os.environ), stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        wait_for(
            lambda: proc.poll() is not None or b"ready." in (TMP / "worker.log").read_bytes(), 90, 0.3, "worker ready"
        )
        if proc.poll() is not None:
            raise AssertionError("worker exited:\n" + (TMP / "worker.log").read_text()[-3000:])
        yield proc
    finally:
        stop_process(proc)
        log.close()


def worker_log() -> str:
    path = TMP / "worker.log"
    return path.read_text(errors="replace") if path.exists() else ""


# --- S3 -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's standalone S3-API server, as its own process on loopback (boto3 talks real HTTP to it)."""
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: port_open(port), 30, 0.2, "moto server")
        yield url
    finally:
        stop_process(proc, timeout=10)
