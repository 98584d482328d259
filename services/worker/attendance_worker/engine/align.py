"""5-point face alignment: the ArcFace crop every recognizer here is trained on (SFace and ArcFace alike).

The same crop as insightface's `face_align.norm_crop`, without insightface (whose package imports onnx): a
similarity transform (rotation, uniform scale, translation; Umeyama's least squares, scikit-image) from the
detector's five landmarks onto the ArcFace reference points, then one `cv2.warpAffine` with a black border.
tests/engine/test_align.py checks the crops against insightface's own on real landmarks.
"""

from __future__ import annotations

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

#: Where the eyes, nose tip and mouth corners of a 112 x 112 ArcFace crop are (x, y), as in insightface.
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float32,
)


def estimate_norm(landmarks: np.ndarray, image_size: int = 112) -> np.ndarray:
    """The 2 x 3 affine matrix taking the five `landmarks` (x, y) onto the reference points of an
    `image_size` crop (a multiple of 112, or of 128 with the 112 layout centred, as insightface does)."""
    src = np.asarray(landmarks, np.float32)
    if src.shape != (5, 2):
        raise ValueError(f"alignment needs 5 landmarks (x, y), not an array of shape {src.shape}")
    if image_size % 112 == 0:
        ratio, shift_x = image_size / 112.0, 0.0
    elif image_size % 128 == 0:
        ratio = image_size / 128.0
        shift_x = 8.0 * ratio
    else:
        raise ValueError(f"an ArcFace crop is a multiple of 112 or 128 pixels wide, not {image_size}")
    dst = ARCFACE_112 * ratio
    dst[:, 0] += shift_x
    tform = SimilarityTransform.from_estimate(src, dst)
    if not tform:  # degenerate landmarks (all on one point): insightface's old estimate() gave a NaN matrix
        return np.full((2, 3), np.nan)
    return np.asarray(tform.params[0:2, :])


def norm_crop(image: np.ndarray, landmarks: np.ndarray, image_size: int = 112) -> np.ndarray:
    """The aligned `image_size` x `image_size` crop of the face with these five landmarks (same channels as
    `image`)."""
    matrix = estimate_norm(landmarks, image_size)
    return cv2.warpAffine(image, matrix, (image_size, image_size), borderValue=0.0)
