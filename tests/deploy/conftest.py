"""Shared helpers for the deployment checks: the files under test, parsed once, and the settings' names.

These checks need no Docker engine: the compose files and Dockerrun.aws.json are validated against
JSON schemas (tools/deploy_checks/), the Dockerfiles with hadolint, and the containers' commands are
run here as processes (test_container_commands.py).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKS = ROOT / "tools" / "deploy_checks"

# Variables that are not application settings but that the containers legitimately use: the shell in
# the worker command (WORKER_CONCURRENCY), the postgres and MinIO images' own variables, and the
# platform's (PORT for Elastic Beanstalk's nginx, HTTPS_CERTIFICATE_ARN for 04_https.config), and
# gunicorn's own GUNICORN_CMD_ARGS (threads per worker).
CONTAINER_ONLY_VARS = {
    "WORKER_CONCURRENCY",
    "GLIBC_TUNABLES",  # the worker's malloc (attendance_worker.engine.runtime.MALLOC_TUNABLES)
    "GUNICORN_CMD_ARGS",
    "MALLOC_ARENA_MAX",  # the web's malloc: 2 arenas for gunicorn's threads (services/web/Dockerfile)
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "MINIO_ROOT_USER",
    "MINIO_ROOT_PASSWORD",
    "MINIO_KMS_SECRET_KEY",
    "MINIO_API_CORS_ALLOW_ORIGIN",
    "PORT",
    "HTTPS_CERTIFICATE_ARN",
}
# Host-side variables used only in compose interpolation (ports on this machine).
COMPOSE_HOST_VARS = {"WEB_PORT", "DB_PORT", "REDIS_PORT", "S3_PORT", "S3_CONSOLE_PORT", "FLOWER_PORT"}

# The application services and the images they run (compose service -> image repository).
APP_SERVICES = {
    "migrate": "attendance-web",
    "s3-init": "attendance-web",
    "web": "attendance-web",
    "worker": "attendance-worker",
    "beat": "attendance-worker",
    "flower": "attendance-worker",
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def setting_names() -> set[str]:
    """Every environment name the application reads: the aliases of Settings' fields."""
    from attendance_shared.settings import Settings

    names = {field.alias for field in Settings.model_fields.values() if field.alias}
    assert names, "Settings declares no aliases?"
    return names


def settings_source_names() -> set[str]:
    """The same names read from settings.py's text, so a rename there cannot go unnoticed here."""
    text = (ROOT / "services" / "shared" / "attendance_shared" / "settings.py").read_text()
    return set(re.findall(r'alias="([A-Z0-9_]+)"', text))


def unescape_compose(value: str) -> str:
    """What the container receives for a compose string with no ${...} interpolation: $$ -> $."""
    return value.replace("$$", "$")


_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default} and ${NAME:?error}, then $$ -> $."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3) or ""
        current = env.get(name)
        if op in (":-", "-"):
            if current is None or (op == ":-" and current == ""):
                return arg
            return current
        if op in (":?", "?"):
            if current is None or (op == ":?" and current == ""):
                raise KeyError(f"{name}: {arg}")
            return current
        return current or ""

    out: list[str] = []
    for i, part in enumerate(value.split("$$")):
        if i:
            out.append("$")
        out.append(_INTERP.sub(sub, part))
    return "".join(out)


def dotenv(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        env[key.strip()] = value.strip()
    return env


def service_env(service: dict[str, Any]) -> dict[str, str]:
    """A compose service's environment as a dict (mapping or KEY=VALUE list form), values raw."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def image_repository(image: str) -> str:
    """registry/path/name:tag -> name."""
    last = image.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0]


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    return load_yaml(ROOT / "docker-compose.yml")


@pytest.fixture(scope="session")
def compose_gpu() -> dict[str, Any]:
    return load_yaml(ROOT / "docker-compose.gpu.yml")


@pytest.fixture(scope="session")
def dockerrun() -> dict[str, Any]:
    return json.loads((ROOT / "Dockerrun.aws.json").read_text())


@pytest.fixture(scope="session")
def containers(dockerrun: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in dockerrun["containerDefinitions"]}


@pytest.fixture(scope="session")
def settings_env_names() -> set[str]:
    return setting_names()


# The scratch database and Redis queues the containers' commands run against (test_container_commands.py,
# test_single_instance.py).
PG_ADMIN_DSN = os.environ.get("DEPLOY_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_BASE = os.environ.get("DEPLOY_TEST_PG_URL_BASE", "postgresql://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("DEPLOY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
QUEUE_PREFIX = f"deploytest-{uuid.uuid4().hex[:8]}-"  # unique per run: runs may overlap


@pytest.fixture()
def scratch_database() -> Iterator[str]:
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"attendance_deploy_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(PG_ADMIN_DSN, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_DSN!r} ({exc}); start it with tools/ensure_services.sh")
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_URL_BASE}/{name}"
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture()
def scratch_redis() -> Iterator[str]:
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} ({exc}); start it with tools/ensure_services.sh")

    def clean() -> None:
        for key in client.scan_iter(match=f"*{QUEUE_PREFIX}*"):
            client.delete(key)

    clean()
    try:
        yield REDIS_URL
    finally:
        clean()
        client.close()
