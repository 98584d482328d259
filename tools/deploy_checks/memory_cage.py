"""A memory cgroup (v1 or v2) standing in for an instance and its containers' memory limits: the free tier's check
(tests/deploy/test_container_commands.py) and benchmark (bench/free_tier.py) run the single-instance configuration's
processes inside one, each in a child with its container's hard limit, and read back what the kernel counted."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


class CageUnavailable(RuntimeError):
    """No memory controller here, or not allowed to make a cgroup (not root)."""


class MemoryCage:
    """A memory cgroup (v1 or v2) with a hard limit; children for each container. Processes started with
    `enter(name)` as preexec_fn run inside the child cgroup of that name from their first instruction."""

    def __init__(self, limit_mib: int, children: dict[str, int]) -> None:
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        self.v2 = v2.is_file() and "memory" in v2.read_text()
        base = Path("/sys/fs/cgroup") if self.v2 else Path("/sys/fs/cgroup/memory")
        if not (base / "cgroup.procs").exists():
            raise CageUnavailable("no memory cgroup controller here (cgroup v1 or v2 with memory)")
        self.root = base / f"attendance-free-tier-{uuid.uuid4().hex[:6]}"
        try:
            self.root.mkdir()
        except OSError as exc:
            raise CageUnavailable(f"cannot create a memory cgroup ({exc}): run as root") from exc
        if self.v2:
            (self.root / "cgroup.subtree_control").write_text("+memory")
        self._limit(self.root, limit_mib)
        self.children = {}
        for name, mib in children.items():
            path = self.root / name
            path.mkdir()
            self._limit(path, mib)
            self.children[name] = path

    def _limit(self, path: Path, mib: int) -> None:
        if self.v2:
            (path / "memory.max").write_text(str(mib * MIB))
            if (path / "memory.swap.max").exists():  # no swap for these processes
                (path / "memory.swap.max").write_text("0")
        else:
            (path / "memory.limit_in_bytes").write_text(str(mib * MIB))
            swap = path / "memory.memsw.limit_in_bytes"
            if swap.exists():  # memory + swap = memory: no swap for these processes
                swap.write_text(str(mib * MIB))
            with contextlib.suppress(OSError):  # deprecated (and refused) by newer kernels
                (path / "memory.move_charge_at_immigrate").write_text("3")

    def enter(self, name: str) -> Any:
        procs = self.children[name] / "cgroup.procs"

        def preexec() -> None:
            procs.write_text(str(os.getpid()))

        return preexec

    def move(self, name: str, pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):
                (self.children[name] / "cgroup.procs").write_text(str(pid))

    def pids(self, name: str) -> list[int]:
        text = (self.children[name] / "cgroup.procs").read_text()
        return [int(p) for p in text.split()]

    def _read(self, path: Path, name: str) -> int | None:
        try:
            return int((path / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _stat(self, path: Path, name: str) -> dict[str, int]:
        out = {}
        try:
            for line in (path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                out[key] = int(value)
        except (OSError, ValueError):
            pass
        return out

    def usage(self, path: Path) -> tuple[int, int]:
        """(charged bytes now, of which anonymous memory: what cannot be dropped as page cache can)."""
        if self.v2:
            stat = self._stat(path, "memory.stat")
            return self._read(path, "memory.current") or 0, stat.get("anon", 0)
        stat = self._stat(path, "memory.stat")
        return self._read(path, "memory.usage_in_bytes") or 0, stat.get("total_rss", 0)

    def report(self, path: Path) -> dict[str, Any]:
        """Peak charge, limit hits, OOM kills and swap of one cgroup, as the kernel counted them."""
        if self.v2:
            events = self._stat(path, "memory.events")
            swap = self._read(path, "memory.swap.peak")
            return {
                "peak_mib": round((self._read(path, "memory.peak") or 0) / MIB, 1),
                "limit_hits": events.get("max", 0),
                "oom_kills": events.get("oom_kill", 0),
                "swap_peak_mib": None if swap is None else round(swap / MIB, 1),
            }
        oom = self._stat(path, "memory.oom_control")
        memsw = self._read(path, "memory.memsw.max_usage_in_bytes")
        peak = self._read(path, "memory.max_usage_in_bytes") or 0
        return {
            "peak_mib": round(peak / MIB, 1),
            "limit_hits": self._read(path, "memory.failcnt") or 0,
            "oom_kills": oom.get("oom_kill", 0),
            # memory + swap against memory alone: what went to swap at the peak (None where swap is not accounted)
            "swap_peak_mib": None if memsw is None else round(max(0, memsw - peak) / MIB, 1),
        }

    def remove(self) -> None:
        for path in [*self.children.values(), self.root]:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
