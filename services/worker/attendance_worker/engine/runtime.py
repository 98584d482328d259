"""onnxruntime sessions: CUDA first when the installed onnxruntime has it, thread counts from settings."""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ModelPackError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


def choose_providers(available: Sequence[str] | None = None) -> list[str]:
    """CUDA then CPU when CUDA is available (GPU worker image), otherwise CPU only."""
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    return [CUDA, CPU] if CUDA in available else [CPU]


#: platform.machine() on the x86 CPUs whose int8 kernels (u8 activations x s8 weights) the benchmarks measured.
X86_MACHINES = frozenset({"x86_64", "amd64", "i386", "i686"})


def cpu_is_x86(machine: str | None = None) -> bool:
    """Whether this is an x86 CPU, from the platform: known even where /proc/cpuinfo cannot be read."""
    return (platform.machine() if machine is None else machine).lower() in X86_MACHINES


def cpu_has_vnni(cpuinfo: str | None = None) -> bool | None:
    """Whether this x86 CPU has VNNI (AVX-512 or AVX); None where it cannot be told (not Linux, not x86). Without
    VNNI, onnxruntime's u8s8 kernels saturate on 8-bit weights (a pack built before 7-bit weights)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), None)
    if flags is None:
        return None
    return "avx512_vnni" in flags or "avx_vnni" in flags


#: the largest int8 weight whose products with u8 activations, added in pairs, fit the int16 lanes of x86 CPUs
#: without VNNI (vpmaddubsw): 255 * (64 + 64) = 32640 <= 32767. The pack builder's limit (quantize.INT8_WEIGHT_LIMIT).
EXACT_INT8_WEIGHT_LIMIT = 64


def int8_runs_here(
    providers: Sequence[str],
    cpuinfo: str | None = None,
    *,
    weight_limit: int = EXACT_INT8_WEIGHT_LIMIT,
    machine: str | None = None,
) -> bool:
    """Whether the pack's int8 models run ("auto"): on every x86 CPU, with or without VNNI, when their weights are
    7-bit (`weight_limit`, ModelPack.int8_weight_limit): their integer arithmetic cannot saturate, and every x86
    worker of an Auto Scaling group computes the same detections and embeddings under the one model id. A pack
    built with 8-bit weights runs int8 only where VNNI makes it exact. On a GPU the fp32 models are faster; on
    other CPUs (ARM) int8 was never measured: fp32, the same on every such worker."""
    if CUDA in providers or not cpu_is_x86(machine):
        return False
    return weight_limit <= EXACT_INT8_WEIGHT_LIMIT or cpu_has_vnni(cpuinfo) is True


def session_options(intra_op_threads: int, inter_op_threads: int, *, memory_arena: bool = True) -> Any:
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.enable_cpu_mem_arena = memory_arena
    opts.intra_op_num_threads = max(0, int(intra_op_threads))
    opts.inter_op_num_threads = max(0, int(inter_op_threads))
    opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    # No busy-waiting between ops: a worker host runs other processes, and spinning threads steal their CPU.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def releasing_run_options() -> Any:
    """RunOptions for the last run of a call: onnxruntime hands the arena's free memory back when that run ends.

    The arena serves a call's runs (a photo's batches of crops or windows) without page faults, and gives the
    memory back at the call's end, so a worker does not hold the recognizer's ~110 MB while the detector runs
    (bench.speed, fp32: peak RSS as without an arena; 40 crops 232 ms with it, 255-276 without; 42 detector
    windows 81-88 ms, 108-114 without; outputs bit-equal).
    """
    import onnxruntime

    opts = onnxruntime.RunOptions()
    opts.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return opts


def make_session(
    path: Path,
    *,
    intra_op_threads: int = 2,
    inter_op_threads: int = 1,
    providers: Sequence[str] | None = None,
    memory_arena: bool = True,
) -> Any:
    """Create an InferenceSession; a missing or unreadable file becomes a ModelPackError naming it."""
    import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise ModelPackError.for_file(path, "is missing")
    try:
        return onnxruntime.InferenceSession(
            str(path),
            session_options(intra_op_threads, inter_op_threads, memory_arena=memory_arena),
            providers=list(providers) if providers is not None else choose_providers(),
        )
    except Exception as exc:  # onnxruntime raises several unrelated exception types for a bad file
        raise ModelPackError.for_file(path, f"cannot be loaded by onnxruntime ({type(exc).__name__}: {exc})") from exc


def bound_malloc_caching(threshold_bytes: int = 4 << 20) -> bool:
    """Serve every allocation above `threshold_bytes` with its own mmap (glibc), returned to the OS on free.

    Without this, glibc raises its mmap threshold after the first large free and keeps later large
    buffers (detector activations without an arena, decoded 12 MP photos) on its heaps, where they
    fragment: the worker's RSS then grows from ~0.5 to 0.7-1.2 GB over a few photos. Measured on the
    speed benchmark (peak RSS / CPU s per 12 MP photo): glibc default 657-1244 MB / ~3.0 s; 1 MB 477 MB /
    ~4.5 s (page faults on every inference); 4 MB 513 MB / ~3.6 s; 16 MB 619 MB / ~3.3 s. Returns False
    where this is not glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold_bytes)))
    except (OSError, AttributeError):
        return False


_M_MMAP_THRESHOLD = -3

#: glibc malloc tunable for worker processes: large buffers (detector activations without an arena, decoded
#: photos: mmapped per inference above bound_malloc_caching's threshold) get transparent huge pages, so the
#: kernel zeroes them in 2 MB pages instead of 4 KB ones (page faults per 1080p photo 89k -> 16k). glibc reads it
#: only at process start, so whatever launches a worker sets it (the worker image's ENV, Procfile,
#: tools/run_dev.py, the tests' worker). Measured with `bench.speed`, same VM: 1080p 0.48 -> 0.43 s, 12 MP
#: 0.71 -> 0.69 s, peak RSS 546 -> 542 MB. Without it the worker is slower, never wrong.
MALLOC_TUNABLES = "glibc.malloc.hugetlb=1"


def with_malloc_tunables(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` for launching a worker process: MALLOC_TUNABLES added to any GLIBC_TUNABLES it has."""
    env = dict(environ)
    current = [t for t in env.get("GLIBC_TUNABLES", "").split(":") if t]
    name = MALLOC_TUNABLES.split("=", 1)[0]
    env["GLIBC_TUNABLES"] = ":".join([t for t in current if t.split("=", 1)[0] != name] + [MALLOC_TUNABLES])
    return env


def malloc_hugepages_requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this process was started with MALLOC_TUNABLES (what `models-check` reports)."""
    env = os.environ if environ is None else environ
    return MALLOC_TUNABLES in env.get("GLIBC_TUNABLES", "").split(":")
