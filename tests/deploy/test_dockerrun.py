"""Dockerrun.aws.json (version 2, ECS on Amazon Linux 2): schema-valid and in step with docker-compose.yml."""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    CHECKS,
    CONTAINER_ONLY_VARS,
    ROOT,
    image_repository,
    service_env,
    unescape_compose,
)


def _validator():  # type: ignore[no-untyped-def]
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((CHECKS / "dockerrun-v2.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(doc: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator().iter_errors(doc)]


def test_validates_against_the_version_2_schema(dockerrun: dict[str, Any]) -> None:
    assert dockerrun["AWSEBDockerrunVersion"] == 2
    assert not _errors(dockerrun)


def test_the_schema_rejects_what_eb_would(dockerrun: dict[str, Any]) -> None:
    bad = copy.deepcopy(dockerrun)
    bad["AWSEBDockerrunVersion"] = 1
    assert _errors(bad)
    bad = copy.deepcopy(dockerrun)
    for c in bad["containerDefinitions"]:
        c.pop("memory", None)
        c.pop("memoryReservation", None)
    assert _errors(bad), "a container without memory or memoryReservation must fail"
    bad = copy.deepcopy(dockerrun)
    bad["containerDefinitions"][0]["essentail"] = True
    assert _errors(bad)
    bad = copy.deepcopy(dockerrun)
    bad["containerDefinitions"][1]["dependsOn"] = [{"containerName": "migrate", "condition": "DONE"}]
    assert _errors(bad)


def test_containers_memory_ports_essential_and_the_one_off_migration(containers: dict[str, dict[str, Any]]) -> None:
    assert set(containers) == {"migrate", "web", "worker", "beat"}
    for name, c in containers.items():
        assert c.get("memory") or c.get("memoryReservation"), name
        assert c["memory"] >= c.get("memoryReservation", 0), name
    web, worker, migrate = containers["web"], containers["worker"], containers["migrate"]
    assert web["portMappings"] == [{"hostPort": 80, "containerPort": 5000, "protocol": "tcp"}]
    assert web["essential"] is True and worker["essential"] is True
    assert migrate["essential"] is False and "portMappings" not in migrate
    assert {"containerName": "migrate", "condition": "SUCCESS"} in web["dependsOn"]
    assert {"containerName": "migrate", "condition": "SUCCESS"} in worker["dependsOn"]
    assert "/healthz" in " ".join(web["healthCheck"]["command"])
    # Everything fits an instance with 4 GiB (t3.medium) next to the ECS agent.
    assert sum(c["memory"] for c in containers.values()) <= 3584


def test_logs_go_to_cloudwatch(containers: dict[str, dict[str, Any]]) -> None:
    for name, c in containers.items():
        log = c["logConfiguration"]
        assert log["logDriver"] == "awslogs", name
        assert log["options"]["awslogs-stream-prefix"] == name
        assert {"awslogs-group", "awslogs-region"} <= set(log["options"])


def test_images_and_commands_are_the_compose_files(
    compose: dict[str, Any], containers: dict[str, dict[str, Any]]
) -> None:
    services = compose["services"]
    for name, c in containers.items():
        service = services[name]
        assert image_repository(c["image"]) == image_repository(service["image"]), name
        assert c["command"] == [unescape_compose(p) for p in service["command"]], f"{name}: command differs"


def test_environment_names_are_settings_and_the_rest_comes_from_eb(
    compose: dict[str, Any], containers: dict[str, dict[str, Any]], settings_env_names: set[str]
) -> None:
    """Dockerrun fixes only non-secret values; every other name the compose service sets comes from the
    Elastic Beanstalk environment properties, which docs/deploy-aws.md lists."""
    docs = (ROOT / "docs" / "deploy-aws.md").read_text()
    for name, c in containers.items():
        names = [e["name"] for e in c.get("environment", [])]
        assert len(names) == len(set(names)), name
        assert set(names) <= settings_env_names | CONTAINER_ONLY_VARS, name
        for e in c.get("environment", []):
            assert e["name"] not in {"SECRET_KEY", "DATABASE_URL", "AWS_SECRET_ACCESS_KEY"}, "no secrets in the file"
        compose_names = set(service_env(compose["services"][name]))
        assert set(names) <= compose_names, f"{name}: Dockerrun sets names the compose service does not"
        for missing in sorted(compose_names - set(names) - {"S3_ENDPOINT_URL"}):
            assert f"`{missing}`" in docs, (
                f"{missing} ({name}) must be an EB environment property in docs/deploy-aws.md"
            )
    assert {"name": "FLASK_ENV", "value": "production"} in containers["web"]["environment"]
    assert {"name": "MODEL_PACK", "value": "/opt/models/default"} in containers["worker"]["environment"]


def test_bundle_for_the_docker_platform(tmp_path: Path) -> None:
    from tools.deploy_checks import eb_bundle

    out = eb_bundle.build(
        tmp_path / "bundle.zip",
        {
            "ECR_REGISTRY": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "IMAGE_TAG": "v1",
            "AWS_REGION": "eu-west-1",
            "LOG_GROUP": "/attendance/test",
        },
    )
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        rendered = json.loads(zf.read("Dockerrun.aws.json"))
        configs = {n: zf.read(n).decode() for n in names if n.startswith(".ebextensions/")}
    assert "Dockerrun.aws.json" in names
    assert ".ebextensions/01_flask.config" not in names, "the Python-platform file would break a Docker deploy"
    assert configs and all("aws:elasticbeanstalk:container:python" not in t for t in configs.values())
    assert not _errors(rendered)
    text = json.dumps(rendered)
    assert not re.search(r"\$\{(ECR_REGISTRY|IMAGE_TAG|AWS_REGION|LOG_GROUP)\}", text)
    images = {c["image"] for c in rendered["containerDefinitions"]}
    assert images == {
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/attendance-web:v1",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/attendance-worker:v1",
    }
    # The worker's shell variables are left for the container's shell.
    assert "${WORKER_CONCURRENCY:-1}" in text and "${QUEUE_PREFIX}" in text
    with pytest.raises(SystemExit):
        eb_bundle.render_dockerrun({"ECR_REGISTRY": "r", "IMAGE_TAG": "", "AWS_REGION": "x", "LOG_GROUP": "g"})
