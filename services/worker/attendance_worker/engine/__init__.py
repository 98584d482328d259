"""Face recognition engine: model packs, detection, alignment, embedding and attendance decisions."""

from __future__ import annotations

from .core import Engine, EnrollmentResult, Face, PhotoAnalysis, get_engine, reset_engine
from .errors import ModelPackError
from .matching import FaceMatch, Gallery, build_templates
from .pack import ModelPack, load_pack
from .runtime import choose_providers

__all__ = [
    "Engine",
    "EnrollmentResult",
    "Face",
    "FaceMatch",
    "Gallery",
    "ModelPack",
    "ModelPackError",
    "PhotoAnalysis",
    "build_templates",
    "choose_providers",
    "get_engine",
    "load_pack",
    "reset_engine",
]
