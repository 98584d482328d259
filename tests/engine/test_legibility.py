"""Which faces the engine could not name because the photo is too small or too poor for them (the review page then
asks for a closer photo)."""

from __future__ import annotations

from attendance_shared.models import FaceLegibility
from attendance_worker.engine.matching import CONFIRM, PRESENT, UNKNOWN, FaceQuality, legibility

THRESHOLDS = {"present": 0.5, "small_face_px": 0.0, "blur_low": 20.0, "det_score_low": 0.5}


def test_a_face_under_30_px_not_named_is_too_small() -> None:
    tiny = FaceQuality(face_px=22, blur=200.0, detection_score=0.9)
    assert legibility(tiny, CONFIRM, THRESHOLDS) == FaceLegibility.TOO_SMALL
    assert legibility(tiny, UNKNOWN, THRESHOLDS) == FaceLegibility.TOO_SMALL
    assert legibility(tiny, PRESENT, THRESHOLDS) is None  # named all the same: nothing to ask for


def test_blurred_or_weakly_detected_faces_are_too_poor_and_clear_strangers_are_not_flagged() -> None:
    assert legibility(FaceQuality(80, 5.0, 0.9), UNKNOWN, THRESHOLDS) == FaceLegibility.TOO_POOR
    assert legibility(FaceQuality(80, 200.0, 0.3), CONFIRM, THRESHOLDS) == FaceLegibility.TOO_POOR
    assert legibility(FaceQuality(80, 200.0, 0.9), UNKNOWN, THRESHOLDS) is None  # a clear face nobody knows


def test_a_pack_sets_its_own_limit() -> None:
    face = FaceQuality(face_px=40, blur=200.0, detection_score=0.9)
    assert legibility(face, CONFIRM, THRESHOLDS) is None
    assert legibility(face, CONFIRM, THRESHOLDS | {"retake_face_px": 48.0}) == FaceLegibility.TOO_SMALL
