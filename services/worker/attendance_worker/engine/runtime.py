"""onnxruntime sessions: CUDA first when the installed onnxruntime has it, thread counts from settings."""

from __future__ import annotations

from collections.abc import Sequence
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


def session_options(intra_op_threads: int, inter_op_threads: int) -> Any:
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = max(0, int(intra_op_threads))
    opts.inter_op_num_threads = max(0, int(inter_op_threads))
    opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return opts


def make_session(
    path: Path, *, intra_op_threads: int = 2, inter_op_threads: int = 1, providers: Sequence[str] | None = None
) -> Any:
    """Create an InferenceSession; a missing or unreadable file becomes a ModelPackError naming it."""
    import onnxruntime

    path = Path(path)
    if not path.is_file():
        raise ModelPackError.for_file(path, "is missing")
    try:
        return onnxruntime.InferenceSession(
            str(path),
            session_options(intra_op_threads, inter_op_threads),
            providers=list(providers) if providers is not None else choose_providers(),
        )
    except Exception as exc:  # onnxruntime raises several unrelated exception types for a bad file
        raise ModelPackError.for_file(path, f"cannot be loaded by onnxruntime ({type(exc).__name__}: {exc})") from exc
