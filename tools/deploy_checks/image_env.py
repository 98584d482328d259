"""What an image's final stage sets for its processes (its ENV) and runs as its health check, read out of its
Dockerfile, so that a check running the containers' commands as processes (bench/free_tier.py,
tests/deploy/test_single_instance.py) runs them as the image would."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = {"web": ROOT / "services/web/Dockerfile", "worker": ROOT / "services/worker/Dockerfile"}
#: set per run by whoever starts the process (paths on this machine, the mode it runs in)
PER_RUN = frozenset({"PATH", "INSTANCE_DIR", "MODEL_PACK", "FLASK_ENV"})


def _final_stage(image: str) -> list[str]:
    """The final stage's instructions, continuation lines joined."""
    lines: list[str] = []
    for raw in DOCKERFILES[image].read_text().splitlines():
        if raw.strip().startswith("#"):
            continue
        if lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + raw.strip()
        else:
            lines.append(raw.strip())
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    return lines[last_from:]


def runtime_env(image: str) -> dict[str, str]:
    """The final stage's ENV, less what is set per run (PER_RUN)."""
    env: dict[str, str] = {}
    for line in _final_stage(image):
        if line.upper().startswith("ENV "):
            for pair in shlex.split(line[4:]):
                key, _, value = pair.partition("=")
                env[key] = value
    return {k: v for k, v in env.items() if k not in PER_RUN}


def _healthcheck(image: str) -> tuple[str, str] | None:
    """The final stage's HEALTHCHECK, split into its options and its CMD (exec form); None without one."""
    for line in _final_stage(image):
        if line.upper().startswith("HEALTHCHECK ") and " CMD " in line:
            options, _, command = line.partition(" CMD ")
            return options, command
    return None


def healthcheck(image: str) -> list[str] | None:
    """The HEALTHCHECK's command (exec form), which Docker runs in the container even where the task definition
    names none: it takes memory in the container's cgroup too."""
    found = _healthcheck(image)
    return list(json.loads(found[1])) if found else None


#: Docker's values for a HEALTHCHECK option the Dockerfile leaves out (seconds; retries a count)
HEALTHCHECK_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "start-period": 0.0, "retries": 3.0}


def healthcheck_timing(image: str) -> dict[str, float]:
    """The HEALTHCHECK's --interval, --timeout, --start-period (seconds) and --retries: how often Docker runs it, and
    how long a run may take before it counts as a failure."""
    timing = dict(HEALTHCHECK_DEFAULTS)
    found = _healthcheck(image)
    for option in shlex.split(found[0])[1:] if found else []:
        key, _, value = option.lstrip("-").partition("=")
        if key in timing:
            timing[key] = float(value[:-1]) if value.endswith("s") else float(value)
    return timing
