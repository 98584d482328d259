"""The Engine: the one object the worker tasks and the CLI call (numpy in, numpy out, no database)."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from attendance_shared import refusals
from attendance_shared.images import DEFAULT_MAX_PIXELS, ImageRejected, decode_oriented_rgb
from attendance_shared.refusals import Refusal

from . import annotate as _annotate
from .detector import CenterFace, Detections, ScrfdBackend, TiledDetector, TwoStageDetector, average_with_mirror
from .matching import FaceMatch, FaceQuality, Gallery, match_faces
from .pack import ModelPack, load_pack
from .quality import blur_score, face_px
from .recognizer import Recognizer
from .runtime import (
    bound_malloc_caching,
    choose_providers,
    int8_runs_here,
    make_session,
)


@dataclass
class Face:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the oriented photo
    landmarks: np.ndarray  # (5, 2)
    detection_score: float
    face_px: int
    blur: float
    embedding: np.ndarray | None  # (d,) float32, L2-normalised
    visible: float = 1.0  # fraction of the detector's box inside the photo (< 1: cut by the border)

    @property
    def quality(self) -> FaceQuality:
        return FaceQuality(self.face_px, self.blur, self.detection_score)


@dataclass
class PhotoAnalysis:
    width: int
    height: int
    faces: list[Face]
    seconds: float
    image: np.ndarray  # RGB uint8, EXIF orientation applied


@dataclass
class EnrollmentResult:
    accepted: bool
    refusal: Refusal | None  # why not accepted: the code, and the sentence for the teacher
    embedding: np.ndarray | None
    box: tuple[float, float, float, float] | None
    face_px: int | None

    @property
    def reason(self) -> str | None:
        return None if self.refusal is None else self.refusal.sentence


class Engine:
    """Holds the onnxruntime sessions (created once) and the pack's calibrated thresholds."""

    #: enrollment portraits are searched for faces at this longest side first
    enroll_detect_side = 640

    def __init__(
        self,
        pack: ModelPack,
        *,
        intra_op_threads: int = 2,
        inter_op_threads: int = 1,
        providers: Sequence[str] | None = None,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        recognizer_precision: str = "auto",
    ) -> None:
        bound_malloc_caching()
        self.pack = pack
        self.thresholds: dict[str, float] = dict(pack.thresholds)
        self.providers = list(providers) if providers is not None else choose_providers()
        self.max_pixels = max_pixels
        threads = {"intra_op_threads": intra_op_threads, "inter_op_threads": inter_op_threads}
        int8_here = int8_runs_here(self.providers, weight_limit=pack.int8_weight_limit)
        if pack.kind == "default":
            # The detector's input shapes vary (tiles, windows) and onnxruntime's arena would keep the peak of every
            # shape it has seen; CenterFace hands the arena's memory back after each call's last run instead
            # (runtime.releasing_run_options), so a long-lived worker's RSS stays flat and a photo's batches of
            # windows run without page faults (42 windows at 1080p: 81-88 ms, 108-114 without an arena).
            backend: Any = CenterFace(
                make_session(pack.detector_path, providers=self.providers, memory_arena=True, **threads)
            )
            coarse: Any = backend
            if pack.detector_coarse_path is not None and int8_here:
                coarse = CenterFace(
                    make_session(pack.detector_coarse_path, providers=self.providers, memory_arena=True, **threads)
                )
        else:
            # insightface's wrappers, imported only for such a pack (the optional part: insightface_wrappers.py)
            from . import insightface_wrappers

            insightface_wrappers.require(pack.directory)
            det_session = make_session(pack.detector_path, providers=self.providers, memory_arena=False, **threads)
            backend = coarse = ScrfdBackend(insightface_wrappers.scrfd(pack.detector_path, det_session))
        self.detector = TwoStageDetector(TiledDetector(backend), coarse=TiledDetector(coarse))
        # The int8 recognizer (equalized, 7-bit weights) on every x86 CPU, unless RECOGNIZER_PRECISION says otherwise:
        # development and production run the same model (runtime.int8_runs_here).
        recognizer_path, self._model_id = pack.recognizer_path, pack.model_id
        wants_int8 = recognizer_precision == "int8" or (recognizer_precision == "auto" and int8_here)
        if wants_int8 and pack.recognizer_int8_path is not None and pack.recognizer_int8_model_id is not None:
            recognizer_path, self._model_id = pack.recognizer_int8_path, pack.recognizer_int8_model_id
        self.recognizer_path = recognizer_path
        self.recognizer = Recognizer(
            recognizer_path, raw_rgb_input=pack.kind == "default", providers=self.providers, **threads
        )

    @classmethod
    def load(cls, pack_dir: Path | str | None = None, *, settings: Any = None) -> Engine:
        """Engine for `pack_dir` (default: settings.model_pack); raises ModelPackError if the pack is unusable."""
        if settings is None:
            from attendance_shared.settings import get_settings

            settings = get_settings()
        pack = load_pack(pack_dir if pack_dir is not None else settings.model_pack)
        return cls(
            pack,
            intra_op_threads=settings.ort_intra_op_threads,
            inter_op_threads=settings.ort_inter_op_threads,
            max_pixels=settings.max_image_pixels,
            recognizer_precision=settings.recognizer_precision,
        )

    @property
    def model_id(self) -> str:
        """The id of the recognizer this engine runs: what its embeddings record."""
        return self._model_id

    # ------------------------------------------------------------------------------------------

    def decode(self, data: bytes, filename: str) -> np.ndarray:
        """Oriented RGB pixels; raises attendance_shared.images.ImageRejected with a teacher-facing message."""
        return np.asarray(decode_oriented_rgb(data, filename, max_pixels=self.max_pixels), dtype=np.uint8)

    def analyze_image(self, rgb: np.ndarray, *, embed: bool = True) -> list[Face]:
        """Detect, align and embed every face of an RGB image (above the pack's detection threshold)."""
        return self._faces(rgb, self.detector.detect(rgb), embed=embed)

    def _faces(self, rgb: np.ndarray, det: Detections, *, embed: bool = True) -> list[Face]:
        agreed_floor = self.thresholds.get("detect_score_agreed", self.thresholds.get("detect_score", 0.5))
        keep = np.nonzero(
            (det.scores >= self.thresholds.get("detect_score", 0.5)) | (det.agreement() & (det.scores >= agreed_floor))
        )[0]
        det = det.take(keep)
        crops = [self.recognizer.align(rgb, det.landmarks[i]) for i in range(len(det))]
        embeddings = self.recognizer.embed(crops) if embed else [None] * len(crops)
        h, w = rgb.shape[:2]
        faces = []
        for i in range(len(det)):
            raw = det.boxes[i]
            clipped = np.array(
                [min(max(raw[0], 0), w), min(max(raw[1], 0), h), min(max(raw[2], 0), w), min(max(raw[3], 0), h)],
                np.float32,
            )
            area = max(float((raw[2] - raw[0]) * (raw[3] - raw[1])), 1e-6)
            visible = float((clipped[2] - clipped[0]) * (clipped[3] - clipped[1])) / area
            box = (float(clipped[0]), float(clipped[1]), float(clipped[2]), float(clipped[3]))
            faces.append(
                Face(
                    box=box,
                    landmarks=det.landmarks[i].astype(np.float32),
                    detection_score=float(det.scores[i]),
                    face_px=face_px(clipped),
                    blur=blur_score(crops[i]),
                    embedding=embeddings[i],
                    visible=visible,
                )
            )
        return faces

    def _enrollment_faces(self, rgb: np.ndarray) -> list[Face]:
        """Portraits have large faces: detect on a reduced copy (fast for 12 MP photos), align and embed at
        full resolution; fall back to full-resolution detection when the reduced copy shows no face."""
        h, w = rgb.shape[:2]
        if max(h, w) > self.enroll_detect_side:
            f = self.enroll_detect_side / max(h, w)
            small = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
            det = self._detect_portrait(small)
            if len(det) and det.scores.max() >= self.thresholds.get("detect_score", 0.5):
                det.boxes /= f
                det.landmarks /= f
                return self._faces(rgb, det)
        return self._faces(rgb, self._detect_portrait(rgb))

    def _detect_portrait(self, rgb: np.ndarray) -> Detections:
        """Detection with landmarks averaged with a mirrored second look at each face: a small window per
        portrait, and steadier gallery crops (classroom photos keep one pass)."""
        return average_with_mirror(self.detector.backend, rgb, self.detector.detect(rgb))

    def analyze(self, data: bytes, filename: str) -> PhotoAnalysis:
        """Decode (EXIF orientation applied) and analyse one photo; raises ImageRejected on unreadable input."""
        start = time.perf_counter()
        rgb = self.decode(data, filename)
        faces = self.analyze_image(rgb)
        return PhotoAnalysis(
            width=int(rgb.shape[1]),
            height=int(rgb.shape[0]),
            faces=faces,
            seconds=time.perf_counter() - start,
            image=rgb,
        )

    def enroll(self, data: bytes, filename: str) -> EnrollmentResult:
        """Exactly one usable face required; a refusal says why (attendance_shared.refusals)."""
        try:
            rgb = self.decode(data, filename)
        except ImageRejected as exc:
            return EnrollmentResult(False, refusals.unreadable(exc), None, None, None)
        return self.enroll_image(rgb, filename)

    def enroll_image(self, rgb: np.ndarray, filename: str) -> EnrollmentResult:
        faces = self._enrollment_faces(rgb)
        if not faces:
            return EnrollmentResult(False, refusals.no_face(filename), None, None, None)
        # Faces cut by the border, or much smaller than the main one (a poster, a passer-by), do not count.
        whole = [f for f in faces if f.visible >= 0.8] or faces
        largest = max(f.face_px for f in whole)
        main = [f for f in whole if f.face_px >= 0.5 * largest]
        if len(main) > 1:
            return EnrollmentResult(False, refusals.several_faces(filename, len(main)), None, None, None)
        face = max(main, key=lambda f: f.face_px)
        min_px = int(self.thresholds.get("enroll_min_face_px", 0))
        if face.face_px < min_px:
            return EnrollmentResult(
                False, refusals.too_small(filename, face.face_px, min_px), None, face.box, face.face_px
            )
        min_blur = float(self.thresholds.get("enroll_min_blur", 0.0))
        if face.blur < min_blur:
            return EnrollmentResult(
                False, refusals.too_blurry(filename, face.blur, min_blur, face.face_px), None, face.box, face.face_px
            )
        return EnrollmentResult(True, None, face.embedding, face.box, face.face_px)

    def match(self, faces: Sequence[Face], gallery: Gallery, outsiders: Gallery | None = None) -> list[FaceMatch]:
        """Open-set decisions for the faces of ONE photo against the students of one course (`outsiders`: people
        known not to be in it, who can never be marked but can keep a face from being given to a course student)."""
        if not faces:
            return []
        emb = np.stack([np.asarray(f.embedding, np.float32) for f in faces])
        return match_faces(emb, [f.quality for f in faces], gallery, self.thresholds, outsiders)

    def annotate(self, analysis: PhotoAnalysis, decisions: Sequence[FaceMatch], labels: Mapping[str, str]) -> bytes:
        """JPEG of the photo with boxes and names (confirm and unknown in their own colours)."""
        return _annotate.annotate(analysis.image, analysis.faces, decisions, labels)


_ENGINE: Engine | None = None
_LOCK = threading.Lock()


def get_engine() -> Engine:
    """The process-wide engine (sessions loaded once per worker process)."""
    global _ENGINE
    if _ENGINE is None:
        with _LOCK:
            if _ENGINE is None:
                _ENGINE = Engine.load()
    return _ENGINE


def reset_engine() -> None:
    """Forget the process-wide engine (tests, or after MODEL_PACK changes)."""
    global _ENGINE
    with _LOCK:
        _ENGINE = None
