"""Model packs: the default pack (manifest.json from attendance_model_export) or an insightface-format directory.

Every embedding records `model_id`; galleries are never compared across model ids, so the id
changes whenever a file or a conversion changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attendance_shared.checksums import sha256_file  # as the pack builder wrote each file's checksum

from .errors import ModelPackError

# Used when an insightface pack has no thresholds.json next to it. Not calibrated on our benchmark:
# ArcFace (w600k) similarities are spread wider than SFace's; run `make bench` with MODEL_PACK set.
INSIGHTFACE_THRESHOLDS: dict[str, float] = {
    "present": 0.36,
    "confirm": 0.24,
    "small_face_px": 40.0,
    "present_small": 0.42,
    "blur_low": 60.0,
    "margin": 0.06,
    "det_score_low": 0.5,
    "enroll_min_face_px": 36.0,
    "enroll_min_blur": 12.0,
    "detect_score": 0.5,
}


@dataclass(frozen=True)
class ModelPack:
    kind: str  # "default" (CenterFace + SFace) or "insightface" (SCRFD + ArcFace)
    directory: Path
    model_id: str
    detector_path: Path
    recognizer_path: Path
    thresholds: dict[str, float] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: a faster (int8) detector for the first, reduced-size pass only; None: `detector_path` does both passes
    detector_coarse_path: Path | None = None
    #: the int8 recognizer and the id its embeddings record (the engine picks it by RECOGNIZER_PRECISION)
    recognizer_int8_path: Path | None = None
    recognizer_int8_model_id: str | None = None

    @property
    def int8_weight_limit(self) -> int:
        """The largest int8 weight magnitude the pack builder allowed (the manifest's weight_limit; 127 for a pack
        built before 7-bit weights, whose int8 models saturate on CPUs without VNNI: runtime.int8_runs_here)."""
        files = self.manifest.get("files", {})
        limits = [int(e.get("weight_limit", 127)) for e in files.values() if e.get("precision") == "int8"]
        return max(limits, default=127)


def _load_default(directory: Path, manifest_path: Path, verify: bool) -> ModelPack:
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
        model_id = str(manifest["model_id"])
        entries = {role: files[role] for role in ("detector", "recognizer")}
        for optional in ("detector_coarse", "recognizer_int8"):
            if optional in files:
                entries[optional] = files[optional]
        int8_model_id = str(files["recognizer_int8"]["model_id"]) if "recognizer_int8" in files else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelPackError.for_file(manifest_path, f"is not a valid manifest ({exc})") from exc
    paths: dict[str, Path] = {}
    for role, entry in entries.items():
        path = directory / entry["file"]
        if not path.is_file():
            raise ModelPackError.for_file(path, "is missing")
        if verify and sha256_file(path) != entry.get("sha256"):
            raise ModelPackError.for_file(path, "does not match the checksum in manifest.json (corrupt or replaced)")
        paths[role] = path
    thresholds = {k: float(v) for k, v in manifest.get("thresholds", {}).items()}
    return ModelPack(
        "default",
        directory,
        model_id,
        paths["detector"],
        paths["recognizer"],
        thresholds,
        manifest,
        detector_coarse_path=paths.get("detector_coarse"),
        recognizer_int8_path=paths.get("recognizer_int8"),
        recognizer_int8_model_id=int8_model_id,
    )


def _load_insightface(directory: Path) -> ModelPack:
    onnx_files = sorted(directory.glob("*.onnx"))
    detectors = [p for p in onnx_files if p.name.startswith(("det_", "scrfd"))]
    recognizers = [
        p for p in onnx_files if any(k in p.name.lower() for k in ("w600k", "glint", "arcface", "r100", "r50"))
    ]
    if not detectors or not recognizers:
        want = "an SCRFD det_*.onnx" if not detectors else "an ArcFace recognizer (w600k_*.onnx / glint*.onnx)"
        raise ModelPackError.for_file(directory, f"has no manifest.json and no {want}")
    det, rec = detectors[0], recognizers[0]
    digest = hashlib.sha256((sha256_file(det) + sha256_file(rec)).encode()).hexdigest()[:12]
    model_id = f"insightface:{det.stem}+{rec.stem}:{digest}"
    thresholds = dict(INSIGHTFACE_THRESHOLDS)
    override = directory / "thresholds.json"
    if override.is_file():
        try:
            thresholds.update({k: float(v) for k, v in json.loads(override.read_text()).items()})
        except (ValueError, TypeError, AttributeError) as exc:
            raise ModelPackError.for_file(override, f"is not valid JSON thresholds ({exc})") from exc
    return ModelPack("insightface", directory, model_id, det, rec, thresholds, {})


def load_pack(directory: Path | str, *, verify: bool = True) -> ModelPack:
    """Describe the pack in `directory` (checksums verified for the default pack); raise ModelPackError if unusable."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelPackError.for_file(directory / "manifest.json", "is missing (no model pack directory)")
    manifest_path = directory / "manifest.json"
    if manifest_path.is_file():
        return _load_default(directory, manifest_path, verify)
    if any(directory.glob("*.onnx")):
        return _load_insightface(directory)
    raise ModelPackError.for_file(manifest_path, "is missing")
