"""Known vulnerabilities of the pinned packages, from PyPI's project JSON, where pip-audit cannot ask.

    python tools/pypi_advisories.py requirements/*.lock

pip-audit asks PyPI per release (`/pypi/<name>/<version>/json`) or OSV; from some networks (this
project's CI machine among them) both are unreachable while the project endpoint `/pypi/<name>/json`
answers. That endpoint lists the known vulnerabilities (PyPA advisory database, via OSV) of the
project's *latest* release only, so a pin can be audited this way exactly when it is the latest
release. Each lock's pins are sorted into: audited and clean, audited with advisories (exit 1), and
not auditable here (an older release, or no answer), which are listed by name.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)")


@dataclass(frozen=True)
class Verdict:
    name: str
    pinned: str
    latest: str | None  # None: PyPI did not answer
    advisories: tuple[str, ...]  # ids (aliases too) of the vulnerabilities listed for the latest release


def read_pins(paths: list[Path]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for path in paths:
        for line in path.read_text().splitlines():
            match = PIN.match(line)
            if match:
                pins[match.group(1).lower()] = match.group(2)
    return pins


def ask(index: str, name: str, pinned: str, timeout: float) -> Verdict:
    try:
        with urllib.request.urlopen(f"{index}/{name}/json", timeout=timeout) as response:
            project = json.load(response)
    except (OSError, ValueError):
        return Verdict(name, pinned, None, ())
    ids = tuple(
        ", ".join([str(v.get("id", "?")), *map(str, v.get("aliases") or [])])
        for v in project.get("vulnerabilities") or []
    )
    return Verdict(name, pinned, str(project["info"]["version"]), ids)


def audit(pins: dict[str, str], index: str, timeout: float = 20.0) -> list[Verdict]:
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda item: ask(index, item[0], item[1], timeout), sorted(pins.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("locks", nargs="+", type=Path)
    parser.add_argument("--index", default="https://pypi.org/pypi", help="PyPI's JSON API root")
    args = parser.parse_args(argv)
    verdicts = audit(read_pins(args.locks), args.index.rstrip("/"))
    audited = [v for v in verdicts if v.latest == v.pinned]
    vulnerable = [v for v in audited if v.advisories]
    older = [v for v in verdicts if v.latest is not None and v.latest != v.pinned]
    silent = [v for v in verdicts if v.latest is None]
    for v in vulnerable:
        print(f"pypi-advisories: {v.name}=={v.pinned} has known vulnerabilities: {'; '.join(v.advisories)}")
    print(
        f"pypi-advisories: {len(audited) - len(vulnerable)} of {len(verdicts)} pins audited clean "
        f"(each the latest release), {len(vulnerable)} with advisories"
    )
    if older:
        print("pypi-advisories: not auditable here (older than the latest release): "
              + ", ".join(f"{v.name}=={v.pinned} (latest {v.latest})" for v in older))  # fmt: skip
    if silent:
        print("pypi-advisories: WARNING no answer from PyPI for: " + ", ".join(v.name for v in silent))
    return 1 if vulnerable else 0


if __name__ == "__main__":
    sys.exit(main())
