"""Alignment (insightface norm_crop) and batched embedding through insightface's ArcFaceONNX wrapper."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from insightface.utils import face_align

from .runtime import make_session

# norm_crop calls skimage's SimilarityTransform.estimate, deprecated (not changed) in skimage 0.26.
warnings.filterwarnings("ignore", message=r".*`estimate` is deprecated.*", category=FutureWarning)


class Recognizer:
    """Embeds aligned 112x112 crops; embeddings are L2-normalised float32.

    ArcFaceONNX.get_feat builds its blob with swapRB=True, i.e. it expects BGR crops and feeds the
    network RGB; we keep RGB images throughout and flip to BGR only at this boundary.
    """

    #: batches are padded to a power of two up to this, so onnxruntime sees at most 4 input shapes;
    #: larger batches were no faster on CPU and cost ~100 MB more peak memory
    max_batch = 8

    def __init__(
        self,
        model_path: Any,
        *,
        raw_rgb_input: bool,
        intra_op_threads: int = 2,
        inter_op_threads: int = 1,
        providers: list[str] | None = None,
    ) -> None:
        from insightface.model_zoo.arcface_onnx import ArcFaceONNX

        session = make_session(
            model_path, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads, providers=providers
        )
        self.model = ArcFaceONNX(model_file=str(model_path), session=session)
        if raw_rgb_input:  # SFace: 0-255 RGB, normalisation is inside the graph
            self.model.input_mean = 0.0
            self.model.input_std = 1.0
        self.size = int(self.model.input_size[0])
        self.dim = int(self.model.output_shape[-1])

    def align(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return face_align.norm_crop(rgb, landmark=np.asarray(landmarks, np.float32), image_size=self.size)

    def embed(self, crops_rgb: list[np.ndarray]) -> np.ndarray:
        """(n, dim) L2-normalised embeddings of aligned RGB crops."""
        if not crops_rgb:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for start in range(0, len(crops_rgb), self.max_batch):
            chunk = [np.ascontiguousarray(c[..., ::-1]) for c in crops_rgb[start : start + self.max_batch]]
            n = len(chunk)
            padded = 1 << (n - 1).bit_length()
            chunk += [chunk[0]] * (padded - n)
            out.append(np.asarray(self.model.get_feat(chunk), np.float32)[:n])
        feats = np.concatenate(out).reshape(len(crops_rgb), -1)
        return l2_normalize(feats)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)
