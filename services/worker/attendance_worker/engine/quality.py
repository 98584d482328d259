"""Face quality signals used by enrollment checks and by the present/confirm decision."""

from __future__ import annotations

import cv2
import numpy as np


def face_px(box: np.ndarray | tuple[float, float, float, float]) -> int:
    """Face width in pixels of the photo (the detector box width)."""
    x1, _, x2, _ = (float(v) for v in box)
    return max(0, round(x2 - x1))


def blur_score(aligned_rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned crop's centre: low means blurred or upscaled from few pixels."""
    grey = cv2.cvtColor(aligned_rgb, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    centre = grey[h // 6 : h - h // 6, w // 6 : w - w // 6]
    return float(cv2.Laplacian(centre, cv2.CV_64F).var())
