"""Alignment (align.norm_crop) and batched embedding of the aligned crops through onnxruntime."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .align import norm_crop
from .errors import ModelPackError
from .runtime import make_session, releasing_run_options


class Recognizer:
    """Embeds aligned 112x112 crops; embeddings are L2-normalised float32.

    The input blob is built as insightface's ArcFaceONNX.get_feat builds it (cv2.dnn.blobFromImages of BGR crops
    with swapRB=True, i.e. the network sees RGB): we keep RGB images throughout and flip to BGR only at this
    boundary. The default pack's SFace takes raw 0-255 RGB (its normalisation is inside the graph); an
    insightface-format pack's ArcFace gets the normalisation insightface reads off its graph (insightface_wrappers).
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
        # The arena serves one call's batches and is released after its last (releasing_run_options): kept, it
        # held ~110 MB of a worker's resident memory through detection (peak RSS 465-536 -> ~340 MB, bench.speed).
        self.session = make_session(
            model_path, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads, providers=providers
        )
        self._release = releasing_run_options()
        if raw_rgb_input:  # SFace: 0-255 RGB, normalisation is inside the graph
            self.input_mean, self.input_std = 0.0, 1.0
        else:
            from .insightface_wrappers import arcface_input_normalisation

            self.input_mean, self.input_std = arcface_input_normalisation(model_path, self.session)
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(outputs) != 1:
            raise ModelPackError.for_file(model_path, f"has {len(outputs)} outputs, not one embedding")
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        self.input_size = (int(inputs[0].shape[3]), int(inputs[0].shape[2]))  # (w, h)
        self.size = self.input_size[0]
        self.dim = int(outputs[0].shape[-1])

    def align(self, rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        return norm_crop(rgb, np.asarray(landmarks, np.float32), image_size=self.size)

    def _feat(self, crops_bgr: list[np.ndarray], *, last: bool = True) -> np.ndarray:
        mean = self.input_mean
        blob = cv2.dnn.blobFromImages(crops_bgr, 1.0 / self.input_std, self.input_size, (mean, mean, mean), swapRB=True)
        blob = np.ascontiguousarray(blob, dtype=np.float32)
        run_options = self._release if last else None
        return np.asarray(self.session.run([self.output_name], {self.input_name: blob}, run_options)[0], np.float32)

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
            out.append(self._feat(chunk, last=start + self.max_batch >= len(crops_rgb))[:n])
        feats = np.concatenate(out).reshape(len(crops_rgb), -1)
        return l2_normalize(feats)


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norm, 1e-12)).astype(np.float32)
