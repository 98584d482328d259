"""Build the source bundle for the Elastic Beanstalk *Docker* (ECS on Amazon Linux 2) platform.

    python tools/deploy_checks/eb_bundle.py --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com \
        --tag v2026.11.24 --region us-east-1 --out dist/eb-docker-bundle.zip

    # a separate worker environment on GPU instances (only the worker container, the GPU image,
    # one GPU reserved, and deploy/gpu/.ebextensions: ECS's GPU support turned on; see docs/deploy-aws.md,
    # "Scaling the worker"):
    python tools/deploy_checks/eb_bundle.py ... --worker-only --gpu --out dist/eb-gpu-worker-bundle.zip

    # the free tier: the whole application on one 1 GiB instance (t3.micro; docs/deploy-aws.md, "Cost"):
    python tools/deploy_checks/eb_bundle.py ... --single-instance --out dist/eb-single-instance-bundle.zip

The committed Dockerrun.aws.json names its images and log settings with ${ECR_REGISTRY},
${IMAGE_TAG}, ${AWS_REGION} and ${LOG_GROUP}; this fills them in and zips the result with the
.ebextensions that apply to the Docker platform (every file except those for the Python platform,
which the Docker platform would reject) and the files its host volumes mount from the bundle, which
Elastic Beanstalk extracts to /var/app/current (the proxy container's deploy/proxy/default.conf).
`eb deploy --staged` is not needed: point the EB CLI at the zip with `deploy: artifact:` in
.elasticbeanstalk/config.yml (docs/deploy-aws.md).
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON_ONLY_NAMESPACE = "aws:elasticbeanstalk:container:python"
# Configs that need the web environment's load balancer: a worker environment is single-instance (docs/deploy-aws.md),
# and Elastic Beanstalk offers rolling deployments only to load-balanced environments.
WEB_ONLY_MARKERS = ("AWSEBV2LoadBalancer", "HealthCheckPath", "LoadBalancerType", "RollingWithAdditionalBatch")
PLACEHOLDERS = ("ECR_REGISTRY", "IMAGE_TAG", "AWS_REGION", "LOG_GROUP")
BUNDLE_ROOT = "/var/app/current"  # where Elastic Beanstalk extracts the source bundle on the instance
# .ebextensions for the GPU worker bundle only (ECS_ENABLE_GPU_SUPPORT): outside the repository's .ebextensions/, so
# neither the main bundle nor the Python platform (which reads the repository's own .ebextensions/) applies them.
GPU_EBEXTENSIONS = Path("deploy", "gpu", ".ebextensions")  # relative to the repository root


def docker_platform_configs(root: Path = ROOT) -> list[Path]:
    """The .ebextensions files for the Docker platform: all but the Python-platform ones."""
    return [p for p in sorted((root / ".ebextensions").glob("*.config")) if PYTHON_ONLY_NAMESPACE not in p.read_text()]


def gpu_configs(root: Path = ROOT) -> list[Path]:
    """The .ebextensions files only a GPU worker bundle carries."""
    return sorted((root / GPU_EBEXTENSIONS).glob("*.config"))


def render_dockerrun(values: dict[str, str], root: Path = ROOT) -> dict[str, Any]:
    """Dockerrun.aws.json with the placeholders filled in; a missing value is an error, not a blank."""
    text = (root / "Dockerrun.aws.json").read_text()
    missing = [name for name in PLACEHOLDERS if f"${{{name}}}" in text and not values.get(name)]
    if missing:
        raise SystemExit(f"error: no value for {', '.join(missing)}")
    doc: dict[str, Any] = json.loads(text)

    def fill(obj: Any) -> Any:
        if isinstance(obj, str):
            # Only our own placeholders: the worker command's ${QUEUE_PREFIX} and
            # ${WORKER_CONCURRENCY:-1} are for the container's shell and must stay.
            return re.sub(
                r"\$\{(" + "|".join(PLACEHOLDERS) + r")\}",
                lambda m: string.Template(m.group(0)).substitute(values),
                obj,
            )
        if isinstance(obj, list):
            return [fill(v) for v in obj]
        if isinstance(obj, dict):
            return {k: fill(v) for k, v in obj.items()}
        return obj

    rendered: dict[str, Any] = fill(doc)
    return rendered


def mounted_volumes(dockerrun: dict[str, Any]) -> list[dict[str, Any]]:
    """The top-level volumes some container mounts (a volume nothing mounts is left out)."""
    used = {m["sourceVolume"] for c in dockerrun["containerDefinitions"] for m in c.get("mountPoints", [])}
    return [v for v in dockerrun.get("volumes", []) if v["name"] in used]


def bundled_files(dockerrun: dict[str, Any], root: Path = ROOT) -> list[tuple[Path, str]]:
    """(file, name in the zip) for every file a host volume mounts from the bundle (/var/app/current/...).

    The name in the zip is the path under /var/app/current, so the mount finds the file where the volume
    says; a volume naming a path that is not in the repository is an error here, not an empty mount on EB.
    """
    files: list[tuple[Path, str]] = []
    for volume in mounted_volumes(dockerrun):
        source = volume["host"]["sourcePath"].rstrip("/")
        if not source.startswith(BUNDLE_ROOT + "/"):
            continue  # a path on the instance itself, not from the bundle
        relative = source.removeprefix(BUNDLE_ROOT + "/")
        path = root / relative
        found = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        if not found:
            raise SystemExit(f"error: volume {volume['name']} mounts {source}, but {relative} has no files here")
        files += [(p, p.relative_to(root).as_posix()) for p in found]
    return files


def worker_only(dockerrun: dict[str, Any], gpu: bool) -> dict[str, Any]:
    """Only the worker container, for a separate (e.g. GPU) worker environment.

    The main environment keeps web, beat and the migration; this one only consumes the queues. With
    gpu, the image is the DEVICE=gpu build (tag suffix -gpu) and ECS reserves one GPU for it.
    """
    doc = dict(dockerrun)
    worker = dict(next(c for c in dockerrun["containerDefinitions"] if c["name"] == "worker"))
    worker.pop("dependsOn", None)
    if gpu:
        worker["image"] = worker["image"] + "-gpu"
        worker["resourceRequirements"] = [{"type": "GPU", "value": "1"}]
        worker["memory"], worker["memoryReservation"] = 12288, 8192
    doc["containerDefinitions"] = [worker]
    volumes = mounted_volumes(doc)  # the proxy's configuration goes with the proxy
    if volumes:
        doc["volumes"] = volumes
    else:
        doc.pop("volumes", None)
    return doc


#: The free tier's containers (MiB): `memory` is the hard limit, `memoryReservation` what ECS places the task by
#: (752 MiB in all, under a t3.micro's ~950 MiB of registered memory). Sized from what they used under a school's
#: burst inside 1 GiB (bench/free_tier.py, docs/benchmarks.md "The free tier"), with room for what also runs in them
#: (the images' health checks; the queue metric in the worker's). The one-off migration exits before the others start.
SINGLE_INSTANCE_MEMORY = {
    "migrate": (256, 64),
    "web": (320, 224),
    "proxy": (32, 16),
    "worker": (576, 448),
}
#: One gunicorn process with 8 threads instead of 3 processes of 4: the web's part of an upload is two small requests
#: once photos go straight to S3, and each process holds its own copy of the application.
SINGLE_INSTANCE_WEB_ARGS = ("--workers", "1", "--threads", "8")
#: Where the worker container's embedded beat keeps its schedule: the beat container's file.
BEAT_SCHEDULE = "/var/lib/attendance/celerybeat-schedule"


def single_instance_budget_mib() -> int:
    """The hard limits of the containers that run together (all but the migration)."""
    return sum(memory for name, (memory, _) in SINGLE_INSTANCE_MEMORY.items() if name != "migrate")


def _one_web_process(words: list[str]) -> list[str]:
    at = words.index("--workers")
    return [*words[:at], *SINGLE_INSTANCE_WEB_ARGS, *words[at + 2 :]]


def _beat_inside(worker_shell: str, schedule: str) -> str:
    """`celery ... worker` with the beat inside it (`--beat`): no separate beat process to start and supervise, and
    still one beat per instance, as the separate container or Procfile line gave."""
    if " worker " not in worker_shell or "--beat" in worker_shell:
        raise SystemExit(f"error: cannot put the beat inside this worker command: {worker_shell}")
    return worker_shell.replace(" worker ", f" worker --beat --schedule {schedule} ", 1)


def single_instance(dockerrun: dict[str, Any]) -> dict[str, Any]:
    """The whole application on one 1 GiB instance (the free tier): web, proxy and a worker with the beat inside it,
    each with the memory limits above; the migration as before."""
    doc = json.loads(json.dumps(dockerrun))
    containers = {c["name"]: c for c in doc["containerDefinitions"]}
    web, worker = containers["web"], containers["worker"]
    web["command"] = _one_web_process(web["command"])
    *shell, line = worker["command"]
    worker["command"] = [*shell, _beat_inside(line, BEAT_SCHEDULE)]
    doc["containerDefinitions"] = [c for c in doc["containerDefinitions"] if c["name"] != "beat"]
    for c in doc["containerDefinitions"]:
        c["memory"], c["memoryReservation"] = SINGLE_INSTANCE_MEMORY[c["name"]]
    return doc


def single_instance_procfile(procfile: str) -> str:
    """The Python platform's equivalent (deploy/single-instance/Procfile, checked against this): the Procfile's
    processes with the web and the worker changed as single_instance() changes them, and the beat line dropped (its
    schedule file goes to the worker). The platform enforces no memory limits."""
    processes = dict(line.split(":", 1) for line in procfile.splitlines() if line.strip() and not line.startswith("#"))
    schedule = processes.pop("beat").split("--schedule", 1)[1].split()[0]
    processes["web"] = " " + " ".join(_one_web_process(processes["web"].split()))
    processes["worker"] = _beat_inside(processes["worker"], schedule)
    return "".join(f"{name}:{command}\n" for name, command in processes.items())  # no comments: each line is a process


def build(
    out: Path,
    values: dict[str, str],
    root: Path = ROOT,
    *,
    only_worker: bool = False,
    gpu: bool = False,
    one_instance: bool = False,
) -> Path:
    dockerrun = render_dockerrun(values, root)
    if only_worker or gpu:
        dockerrun = worker_only(dockerrun, gpu)
    elif one_instance:
        dockerrun = single_instance(dockerrun)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Dockerrun.aws.json", json.dumps(dockerrun, indent=2) + "\n")
        for path, name in bundled_files(dockerrun, root):
            zf.write(path, name)
        for path in docker_platform_configs(root):
            text = path.read_text()
            if (only_worker or gpu) and any(word in text for word in WEB_ONLY_MARKERS):
                continue  # a worker environment has no load balancer and no /healthz to check
            zf.write(path, f".ebextensions/{path.name}")
        if gpu:
            for path in gpu_configs(root):
                zf.write(path, f".ebextensions/{path.name}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--registry", required=True, help="ECR registry, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com"
    )
    parser.add_argument("--tag", required=True, help="image tag pushed for both attendance-web and attendance-worker")
    parser.add_argument("--region", required=True, help="AWS region for the awslogs driver")
    parser.add_argument(
        "--log-group", default="/attendance/production", help="CloudWatch Logs group for the containers"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "eb-docker-bundle.zip")
    parser.add_argument("--worker-only", action="store_true", help="only the worker container")
    parser.add_argument("--gpu", action="store_true", help="worker only, GPU image (tag-gpu), one GPU reserved")
    parser.add_argument(
        "--single-instance",
        action="store_true",
        help="the free tier: everything on one 1 GiB instance (t3.micro), the beat inside the worker",
    )
    args = parser.parse_args(argv)
    values = {
        "ECR_REGISTRY": args.registry,
        "IMAGE_TAG": args.tag,
        "AWS_REGION": args.region,
        "LOG_GROUP": args.log_group,
    }
    if args.single_instance and (args.worker_only or args.gpu):
        parser.error("--single-instance is the whole application: not with --worker-only or --gpu")
    path = build(args.out, values, only_worker=args.worker_only, gpu=args.gpu, one_instance=args.single_instance)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
