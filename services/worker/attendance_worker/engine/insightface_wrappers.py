"""The optional part: insightface's SCRFD and ArcFace wrappers, for insightface-format packs only.

The default pack needs none of it (its alignment is `align.py`, its embedding `recognizer.py`), and the worker's
image does not install insightface, whose package imports onnx. A worker that runs an insightface-format pack
installs it as `INSTALL` says; this module is imported only when an Engine is made for such a pack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ModelPackError

#: insightface's metadata asks for the GUI build of OpenCV, hence --no-deps (requirements/worker-nodeps.txt pins
#: it); the five beside it are the dependencies it has that the worker has not.
INSTALL = "pip install onnx tqdm requests scipy scikit-image && pip install --no-deps insightface==2.1"


def _wrappers(pack_dir: Path | str) -> tuple[Any, Any]:
    try:
        from insightface.model_zoo.arcface_onnx import ArcFaceONNX
        from insightface.model_zoo.scrfd import SCRFD
    except ImportError as exc:
        raise ModelPackError(
            f"The model pack {pack_dir} is in insightface's format (no manifest.json), and running it needs the "
            f"insightface package, which this worker does not have ({exc}). Install it with `{INSTALL}`, or point "
            "MODEL_PACK at the default pack (`make models`), and restart."
        ) from exc
    return SCRFD, ArcFaceONNX


def require(pack_dir: Path | str) -> None:
    """Raise ModelPackError, saying what to install, unless insightface's wrappers import here."""
    _wrappers(pack_dir)


def scrfd(model_path: Path, session: Any) -> Any:
    """insightface's SCRFD detector wrapper around an onnxruntime session of `model_path`."""
    scrfd_class, _ = _wrappers(model_path.parent)
    return scrfd_class(model_file=str(model_path), session=session)


def arcface_input_normalisation(model_path: Path, session: Any) -> tuple[float, float]:
    """(mean, std) the ArcFace recognizer at `model_path` wants its 0-255 pixels normalised with: insightface reads
    it off the graph's first nodes (an mxnet export normalises inside the graph: 0 and 1; others 127.5)."""
    _, arcface_class = _wrappers(model_path.parent)
    model = arcface_class(model_file=str(model_path), session=session)
    return float(model.input_mean), float(model.input_std)
