"""A memory cgroup (v1 or v2) standing in for an instance and its containers' memory limits: the free tier's check
(tests/deploy/test_single_instance.py) and benchmark (bench/free_tier.py) run the single-instance configuration's
processes inside one, each in a child with its container's hard limit, and read back what the kernel counted.

The same tree in the CPU controllers counts each container's CPU time (what a t3 instance pays in CPU credits)
and, when asked, holds the whole to a share of the CPUs: a t3.micro's baseline once its credits are spent."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


class CageUnavailable(RuntimeError):
    """No memory controller here, or not allowed to make a cgroup (not root)."""


class MemoryCage:
    """A memory cgroup (v1 or v2) with a hard limit and no swap; a child for each container, with its own limit.
    Processes started with `enter(name)` as preexec_fn run inside that child from their first instruction. The same
    children count CPU time (`cpu_seconds`); `cpus` holds the whole to that share of the CPUs, `cpu_shares` weighs
    the children against each other when the CPU is short, as Docker does with the containers' cpu units."""

    def __init__(
        self,
        limit_mib: int,
        children: dict[str, int],
        *,
        cpus: float | None = None,
        cpu_shares: dict[str, int] | None = None,
    ) -> None:
        self.v2 = _memory_is_v2()
        self.cpus = cpus
        self.cpu_shares = cpu_shares or {}  # each container's ECS "cpu" units: its weight when the CPU is short
        self.cpu_roots: list[Path] = []  # v1: the same tree in the cpu and cpuacct hierarchies (one where co-mounted)
        base = Path("/sys/fs/cgroup") if self.v2 else Path("/sys/fs/cgroup/memory")
        if not (base / "cgroup.procs").exists() or (not self.v2 and not (base / "memory.limit_in_bytes").exists()):
            raise CageUnavailable("no memory cgroup controller here (cgroup v1 or v2 with memory)")
        self.root = base / f"attendance-free-tier-{uuid.uuid4().hex[:6]}"
        self.children: dict[str, Path] = {}
        try:
            self.root.mkdir()
        except OSError as exc:
            raise CageUnavailable(f"cannot create a memory cgroup ({exc}): run as root") from exc
        try:
            if self.v2:
                (self.root / "cgroup.subtree_control").write_text("+memory")
            else:  # older v1 kernels default to flat accounting: the root's limit must cover its children
                with contextlib.suppress(OSError):
                    (self.root / "memory.use_hierarchy").write_text("1")
            self._limit(self.root, limit_mib)
            for name, mib in children.items():
                path = self.root / name
                path.mkdir()
                self.children[name] = path
                self._limit(path, mib)
            try:
                self._cpu_tree(list(children))
            except OSError:
                if cpus is not None or cpu_shares:
                    raise
                self._remove_cpu_tree()  # counting CPU time is a bonus where only memory was asked for
        except OSError as exc:
            self.remove()
            raise CageUnavailable(f"cannot set up a memory cgroup here ({exc})") from exc

    def _cpu_tree(self, children: list[str]) -> None:
        """CPU accounting for the root and each child; the root's quota when `cpus` is given. v2 counts CPU time in
        every cgroup (cpu.stat), and the quota needs the cpu controller handed down; v1 needs the tree made again in
        the cpu and cpuacct hierarchies."""
        period_us = 100_000
        if self.v2:
            if self.cpus is not None or self.cpu_shares:
                (self.root / "cgroup.subtree_control").write_text("+cpu")
            if self.cpus is not None:
                (self.root / "cpu.max").write_text(f"{round(self.cpus * period_us)} {period_us}")
            for name, shares in self.cpu_shares.items():  # v1 shares 2..262144 -> v2 weight 1..10000, as runc maps them
                (self.root / name / "cpu.weight").write_text(str(1 + ((shares - 2) * 9999) // 262142))
            return
        for controller in ("cpu", "cpuacct"):
            base = (Path("/sys/fs/cgroup") / controller).resolve()
            root = base / self.root.name
            if not (base / "cgroup.procs").exists() or root in self.cpu_roots:
                continue
            root.mkdir()
            self.cpu_roots.append(root)
            for name in children:
                (root / name).mkdir()
        cpu = self._cpu_controller()
        if cpu is None and (self.cpus is not None or self.cpu_shares):
            raise OSError("no cpu controller to share the CPUs out")
        if cpu is not None and self.cpus is not None:
            (cpu / "cpu.cfs_period_us").write_text(str(period_us))
            (cpu / "cpu.cfs_quota_us").write_text(str(round(self.cpus * period_us)))
        for name, shares in self.cpu_shares.items():
            for root in self.cpu_roots:
                if (root / name / "cpu.shares").exists():
                    (root / name / "cpu.shares").write_text(str(shares))

    def _cpu_controller(self) -> Path | None:
        """v1: the cage's root in the cpu hierarchy (quota, shares, throttling), where there is one."""
        return next((r for r in self.cpu_roots if (r / "cpu.cfs_quota_us").exists()), None)

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
        procs = [self.children[name] / "cgroup.procs", *(root / name / "cgroup.procs" for root in self.cpu_roots)]

        def preexec() -> None:
            for path in procs:
                path.write_text(str(os.getpid()))

        return preexec

    def move(self, name: str, pids: list[int]) -> None:
        for pid in pids:
            for root in [self.root, *self.cpu_roots]:
                with contextlib.suppress(OSError):
                    (root / name / "cgroup.procs").write_text(str(pid))

    def cpu_seconds(self, name: str | None = None) -> float | None:
        """CPU time (user + system) the processes of one child (`name`) or of the whole have used so far, exited
        ones included; None where this kernel does not count it."""
        if self.v2:
            usec = self._stat(self.root / name if name else self.root, "cpu.stat").get("usage_usec")
            return None if usec is None else usec / 1e6
        for root in self.cpu_roots:
            ns = self._read(root / name if name else root, "cpuacct.usage")
            if ns is not None:
                return ns / 1e9
        return None

    def throttled(self) -> dict[str, float] | None:
        """How often the whole's CPU quota held it back: periods throttled, of periods, and seconds held back."""
        if self.cpus is None:
            return None
        if self.v2:
            stat = self._stat(self.root, "cpu.stat")
            usec = float(stat.get("throttled_usec", 0))
        else:
            cpu = self._cpu_controller()
            stat = self._stat(cpu, "cpu.stat") if cpu else {}
            usec = stat.get("throttled_time", 0) / 1000
        return {
            "periods": stat.get("nr_periods", 0),
            "throttled_periods": stat.get("nr_throttled", 0),
            "throttled_s": round(usec / 1e6, 1),
        }

    def pids(self, name: str) -> list[int]:
        return _pids(self.children[name])

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

    def _own_oom_kills(self, path: Path) -> int:
        if self.v2:  # memory.events counts up the tree; .local is this cgroup's own
            return self._stat(path, "memory.events.local").get("oom_kill", 0)
        return self._stat(path, "memory.oom_control").get("oom_kill", 0)  # v1: counted in the victim's cgroup

    def report(self, path: Path) -> dict[str, Any]:
        """Peak charge (None where this kernel keeps none) and OOM kills of one cgroup and the cgroups below it, as
        the kernel counted them. Swap needs no figure: every cgroup here is limited to memory + swap = memory."""
        peak = self._read(path, "memory.peak" if self.v2 else "memory.max_usage_in_bytes")
        below = [self.root / name for name in self.children] if path == self.root else []
        return {
            "peak_mib": None if peak is None else round(peak / MIB, 1),
            "oom_kills": sum(self._own_oom_kills(p) for p in [path, *below]),
        }

    def _remove_cpu_tree(self) -> None:
        for root in self.cpu_roots:
            for path in [*(root / name for name in self.children), root]:
                with contextlib.suppress(OSError):
                    path.rmdir()
        self.cpu_roots = []

    def remove(self) -> None:
        """Kill whatever is still inside (a pool process orphaned by its main process, say), then remove the
        cgroups; one that cannot be removed is reported, not left silently."""
        trees = [self.root, *self.cpu_roots]
        for path in [*(root / name for root in trees for name in self.children), *trees]:
            for pid in _pids(path):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                print(f"memory_cage: could not remove {path}", flush=True)


def _memory_is_v2() -> bool:
    """Whether the memory controller is cgroup v2's: what the root hands down, not merely what exists."""
    v2 = Path("/sys/fs/cgroup/cgroup.subtree_control")
    return v2.is_file() and "memory" in v2.read_text().split()


def _pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def host_facts() -> dict[str, str]:
    """What the figures depend on besides the code: kernel, cgroup version, swap, transparent huge pages (the
    worker's malloc asks for them)."""
    meminfo = Path("/proc/meminfo").read_text()
    swap = next((line.split()[1] for line in meminfo.splitlines() if line.startswith("SwapTotal:")), "?")
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return {
        "kernel": os.uname().release,
        "cgroup": "v2" if _memory_is_v2() else "v1",
        "swap_total_kb": swap,
        "transparent_hugepage": thp.read_text().strip() if thp.exists() else "?",
    }
