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


def _started_after(containers: dict[str, dict[str, Any]], name: str) -> set[tuple[str, str]]:
    """Every (container, condition) that name waits for, directly or through the containers it waits for."""
    found: set[tuple[str, str]] = set()
    todo = [name]
    while todo:
        for dep in containers[todo.pop()].get("dependsOn", []):
            key = (dep["containerName"], dep["condition"])
            if key not in found:
                found.add(key)
                todo.append(dep["containerName"])
    return found


def test_containers_memory_ports_essential_and_the_one_off_migration(containers: dict[str, dict[str, Any]]) -> None:
    assert set(containers) == {"migrate", "web", "proxy", "worker", "beat"}
    for name, c in containers.items():
        assert c.get("memory") or c.get("memoryReservation"), name
        assert c["memory"] >= c.get("memoryReservation", 0), name
    web, proxy, worker, migrate = containers["web"], containers["proxy"], containers["worker"], containers["migrate"]
    # The load balancer reaches gunicorn only through the proxy: nothing else has a host port (a
    # portMapping without hostPort would get a random one in bridge mode, so the web has none at all).
    assert proxy["portMappings"] == [{"hostPort": 80, "containerPort": 80, "protocol": "tcp"}]
    assert [n for n, c in containers.items() if "portMappings" in c] == ["proxy"]
    assert web["essential"] is True and worker["essential"] is True and proxy["essential"] is True
    assert migrate["essential"] is False
    assert {"containerName": "migrate", "condition": "SUCCESS"} in web["dependsOn"]
    assert {"containerName": "migrate", "condition": "SUCCESS"} in worker["dependsOn"]
    assert "/healthz/live" in " ".join(web["healthCheck"]["command"])
    # Everything fits an instance with 4 GiB (t3.medium) next to the ECS agent. Every other container
    # waits for the one-off migration to exit (directly, or the proxy through the web), so its limit never
    # adds to theirs; ECS places the task by every container's reservation (or limit, where none).
    for name in set(containers) - {"migrate"}:
        assert ("migrate", "SUCCESS") in _started_after(containers, name), name
    assert sum(c["memory"] for name, c in containers.items() if name != "migrate") <= 3584
    assert sum(c.get("memoryReservation", c["memory"]) for c in containers.values()) <= 3584


def test_the_proxy_container_fronts_the_web_with_the_bundled_configuration(
    dockerrun: dict[str, Any], containers: dict[str, dict[str, Any]]
) -> None:
    """nginx (deploy/proxy/default.conf, checked with a real nginx in test_nginx_proxy.py) between the load
    balancer and gunicorn: it reaches the web by its link name, and reads its configuration from the source
    bundle, which Elastic Beanstalk extracts to /var/app/current."""
    proxy, web = containers["proxy"], containers["web"]
    assert image_repository(proxy["image"]) == "nginx" and "${" not in proxy["image"]
    assert proxy["links"] == ["web"]
    assert {"containerName": "web", "condition": "START"} in proxy["dependsOn"]
    conf = (ROOT / "deploy" / "proxy" / "default.conf").read_text()
    bind = web["command"][web["command"].index("--bind") + 1]
    assert bind == "0.0.0.0:5000" and re.search(r"^\s*server web:5000;", conf, re.M), "the link name and port"
    assert re.search(r"^\s*listen 80 default_server;", conf, re.M), "the proxy's containerPort"

    [mount] = proxy["mountPoints"]
    assert mount == {"sourceVolume": mount["sourceVolume"], "containerPath": "/etc/nginx/conf.d", "readOnly": True}
    [volume] = [v for v in dockerrun["volumes"] if v["name"] == mount["sourceVolume"]]
    source = volume["host"]["sourcePath"]
    assert source.startswith("/var/app/current/")
    # The whole directory replaces the image's conf.d (its default.conf, a welcome page on port 80): nginx
    # loads every *.conf there, and the one it loads is the one test_nginx_proxy.py runs.
    mounted = ROOT / source.removeprefix("/var/app/current/")
    assert sorted(p.name for p in mounted.glob("*.conf")) == ["default.conf"]


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
        if "${ECR_REGISTRY}" not in c["image"]:  # a public image (the proxy's nginx): the same tag too
            assert c["image"] == service["image"], name
        command = [unescape_compose(p) for p in service["command"]] if "command" in service else None
        assert c.get("command") == command, f"{name}: command differs"


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
        bundle = {n: zf.read(n) for n in names}
        rendered = json.loads(bundle["Dockerrun.aws.json"])
        configs = {n: bundle[n].decode() for n in names if n.startswith(".ebextensions/")}
    assert "Dockerrun.aws.json" in names
    assert ".ebextensions/01_flask.config" not in names, "the Python-platform file would break a Docker deploy"
    assert ".ebextensions/07_ecs_gpu.config" not in names, "ECS GPU support is for the GPU worker bundle only"
    assert configs and all("aws:elasticbeanstalk:container:python" not in t for t in configs.values())
    assert not _errors(rendered)
    text = json.dumps(rendered)
    assert not re.search(r"\$\{(ECR_REGISTRY|IMAGE_TAG|AWS_REGION|LOG_GROUP)\}", text)
    images = {c["image"] for c in rendered["containerDefinitions"]}
    assert images == {
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/attendance-web:v1",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/attendance-worker:v1",
        "nginx:1.27-alpine",
    }
    # Every host volume's files are in the zip where the volume names them (the zip's root is
    # /var/app/current on the instance): the proxy's configuration, byte for byte.
    for volume in rendered["volumes"]:
        source = volume["host"]["sourcePath"].removeprefix("/var/app/current/")
        assert any(n.startswith(source + "/") for n in names), f"{source} is not in the bundle"
    assert bundle["deploy/proxy/default.conf"] == (ROOT / "deploy" / "proxy" / "default.conf").read_bytes()
    # The worker's shell variables are left for the container's shell.
    assert "${WORKER_CONCURRENCY:-1}" in text and "${QUEUE_PREFIX}" in text
    with pytest.raises(SystemExit):
        eb_bundle.render_dockerrun({"ECR_REGISTRY": "r", "IMAGE_TAG": "", "AWS_REGION": "x", "LOG_GROUP": "g"})


@pytest.mark.parametrize("gpu", [False, True], ids=["worker-only", "gpu"])
def test_worker_only_bundle_has_no_web_proxy_or_load_balancer(tmp_path: Path, gpu: bool) -> None:
    """A separate worker environment: the worker container alone, so no proxy volume and no proxy files."""
    from tools.deploy_checks import eb_bundle

    values = {"ECR_REGISTRY": "r.example", "IMAGE_TAG": "v1", "AWS_REGION": "eu-west-1", "LOG_GROUP": "/a/t"}
    out = eb_bundle.build(tmp_path / "worker.zip", values, only_worker=True, gpu=gpu)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        rendered = json.loads(zf.read("Dockerrun.aws.json"))
    assert not _errors(rendered)
    assert [c["name"] for c in rendered["containerDefinitions"]] == ["worker"]
    assert "volumes" not in rendered
    assert not [n for n in names if n.startswith("deploy/")]
    assert ".ebextensions/02_health.config" not in names and ".ebextensions/04_https.config" not in names
    assert ".ebextensions/05_deploy.config" not in names  # rolling deployments need a load balancer
    assert ".ebextensions/06_queue_metric.config" in names  # a GPU worker's instances publish the queue depth too
    assert rendered["containerDefinitions"][0]["image"] == "r.example/attendance-worker:v1" + ("-gpu" if gpu else "")
    # The worker's GPU requirement is placed only where the agent advertises GPUs: the GPU bundle turns that on.
    assert (".ebextensions/07_ecs_gpu.config" in names) == gpu
    assert bool(rendered["containerDefinitions"][0].get("resourceRequirements")) == gpu


def test_the_gpu_bundle_turns_on_ecs_gpu_support_once(tmp_path: Path) -> None:
    """deploy/gpu/.ebextensions/07_ecs_gpu.config: ECS_ENABLE_GPU_SUPPORT=true in the agent's configuration, added to
    what is there (ECS_CLUSTER ...) and never twice, however many deploys run it."""
    import subprocess

    import yaml

    from tools.deploy_checks import eb_bundle

    gpu_line = "ECS_ENABLE_GPU_SUPPORT=true"
    [path] = eb_bundle.gpu_configs()
    assert path.name == "07_ecs_gpu.config"
    doc = yaml.safe_load(path.read_text())
    assert set(doc) == {"commands"}
    [command] = [c["command"] for c in doc["commands"].values()]
    assert "/etc/ecs/ecs.config" in command
    config = tmp_path / "etc" / "ecs" / "ecs.config"
    config.parent.mkdir(parents=True)
    config.write_text("ECS_CLUSTER=awseb-student-attendance-gpu\n")
    local = command.replace("/etc/ecs", str(config.parent))
    for _ in range(2):  # a first deploy, then a later one
        subprocess.run(["sh", "-c", local], check=True)
    assert config.read_text().splitlines() == ["ECS_CLUSTER=awseb-student-attendance-gpu", gpu_line]
    config.unlink()  # no file yet: it is created
    subprocess.run(["sh", "-c", local], check=True)
    assert config.read_text() == gpu_line + "\n"


def test_bundle_refuses_a_volume_whose_files_are_missing() -> None:
    from tools.deploy_checks import eb_bundle

    doc = json.loads((ROOT / "Dockerrun.aws.json").read_text())
    doc["volumes"][0]["host"]["sourcePath"] = "/var/app/current/deploy/no-such-dir"
    with pytest.raises(SystemExit, match="no-such-dir"):
        eb_bundle.bundled_files(doc, ROOT)


def _single_instance(dockerrun: dict[str, Any]) -> dict[str, dict[str, Any]]:
    from tools.deploy_checks import eb_bundle

    doc = eb_bundle.single_instance(dockerrun)
    assert not _errors(doc)
    return {c["name"]: c for c in doc["containerDefinitions"]}


def test_single_instance_fits_a_1_gib_instance(
    dockerrun: dict[str, Any], containers: dict[str, dict[str, Any]]
) -> None:
    """The free tier (eb_bundle.py --single-instance): the whole application on a t3.micro. The containers that run
    together stay within the budget (the rest of the 1 GiB is the kernel's, Docker's and the ECS agent's), the task
    is placed by reservations well under a t3.micro's ~950 MiB, and the beat runs inside the worker."""
    from tools.deploy_checks import eb_bundle

    single = _single_instance(dockerrun)
    assert set(single) == {"migrate", "web", "proxy", "worker"}
    running = {name: c for name, c in single.items() if name != "migrate"}
    budget = eb_bundle.single_instance_budget_mib()
    # Under a t3.micro's ~950 MiB of registered memory (MemTotal; ECS reserves none by default).
    assert sum(c["memory"] for c in running.values()) == budget <= 944
    # docs/deploy-aws.md gives the operator these figures: they must be these.
    limits = {name: c["memory"] for name, c in running.items()}
    said = f"web {limits['web']} MiB, proxy {limits['proxy']} MiB, worker {limits['worker']} MiB ({budget} MiB together"
    assert said in " ".join((ROOT / "docs" / "deploy-aws.md").read_text().split())
    assert sum(c["memoryReservation"] for c in single.values()) <= 768
    for name, c in single.items():
        assert c["memoryReservation"] <= c["memory"], name
        # Everything else is the main configuration's: images, environment, logs, order, health checks, ports.
        main = containers[name]
        for key in set(main) | set(c):
            if key not in ("memory", "memoryReservation", "command"):
                assert c.get(key) == main.get(key), f"{name}: {key}"
    web = single["web"]["command"]
    assert web[web.index("--workers") + 1] == "1" and web[web.index("--threads") + 1] == "8"
    assert [p for p in web if p not in ("--threads", "8", "1", "3")] == [
        p for p in containers["web"]["command"] if p not in ("3", "1")
    ]
    worker = single["worker"]["command"][-1]
    assert f"worker --beat --schedule {eb_bundle.BEAT_SCHEDULE} --queues" in worker
    assert worker.replace(f" --beat --schedule {eb_bundle.BEAT_SCHEDULE}", "") == containers["worker"]["command"][-1]
    assert containers["beat"]["command"][-1] == eb_bundle.BEAT_SCHEDULE  # the same file the beat container keeps


def test_single_instance_bundle(tmp_path: Path) -> None:
    from tools.deploy_checks import eb_bundle

    values = {"ECR_REGISTRY": "r.example", "IMAGE_TAG": "v1", "AWS_REGION": "eu-west-1", "LOG_GROUP": "/a/t"}
    out = eb_bundle.build(tmp_path / "single.zip", values, one_instance=True)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        rendered = json.loads(zf.read("Dockerrun.aws.json"))
    assert not _errors(rendered)
    assert [c["name"] for c in rendered["containerDefinitions"]] == ["migrate", "web", "proxy", "worker"]
    assert "deploy/proxy/default.conf" in names and ".ebextensions/02_health.config" in names
    with pytest.raises(SystemExit):
        eb_bundle.main(["--registry", "r", "--tag", "t", "--region", "x", "--single-instance", "--gpu"])


def test_a_teachers_request_takes_the_cpu_before_recognition(dockerrun: dict[str, Any]) -> None:
    """When an instance is short of CPU (a t3 whose credits are spent) the kernel shares it by each container's
    "cpu" units: the web and the proxy answer teachers (and the web's ECS health check, which replaces the task
    after 3 timeouts) before the worker's next photo. The units also reserve CPU: together they fit the 2,048 a
    t3.micro registers, in the full configuration and in the single-instance one."""
    from tools.deploy_checks import eb_bundle

    for doc in (dockerrun, eb_bundle.single_instance(dockerrun)):
        cpu = {c["name"]: c.get("cpu", 0) for c in doc["containerDefinitions"]}
        assert cpu["web"] > cpu["proxy"] > cpu["worker"] > 0, cpu
        assert sum(cpu.values()) <= 2 * 1024, cpu
