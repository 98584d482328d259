"""5-point face alignment: the ArcFace crop every recognizer here is trained on (SFace and ArcFace alike).

The same crop as insightface's `face_align.norm_crop`, without insightface (whose package imports onnx): a
similarity transform (rotation, uniform scale, translation; Umeyama's least squares) from the detector's five
landmarks onto the ArcFace reference points, then one `cv2.warpAffine` with a black border.
tests/engine/test_align.py checks the crops against insightface's own on real landmarks, and the matrices against
scikit-image's SimilarityTransform bit for bit.
"""

from __future__ import annotations

import cv2
import numpy as np

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
    params = umeyama(src, dst)
    if np.isnan(params).any():  # degenerate landmarks (all on one point): insightface's old estimate() gave NaN
        return np.full((2, 3), np.nan)
    return params[0:2, :]


def umeyama(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3 x 3 similarity (with scale) taking 2-D points `src` onto `dst` in the least-squares sense (Umeyama,
    PAMI 1991): scikit-image 0.26's `_umeyama`, operation for operation, so the matrices are the same bits. Here
    rather than imported: scikit-image pulls in SciPy's linear algebra, ~38 MB more resident in every worker."""
    num, dim = src.shape
    src_mean = src.mean(axis=0)
    dst_mean = dst.mean(axis=0)
    src_demean = src - src_mean
    dst_demean = dst - dst_mean
    a = dst_demean.T @ src_demean / num  # eq. (38)
    d = np.ones((dim,), dtype=np.float64)  # eq. (39)
    if np.linalg.det(a) < 0:
        d[dim - 1] = -1
    t = np.eye(dim + 1, dtype=np.float64)
    u, s, v = np.linalg.svd(a)
    tol = s.max() * np.max(a.shape) * np.finfo(float).eps  # rank from the singular values, as matrix_rank
    rank = np.count_nonzero(s > tol)
    if rank == 0:
        return np.nan * t
    if rank == dim - 1:  # eq. (40) and (43)
        if np.linalg.det(u) * np.linalg.det(v) > 0:
            t[:dim, :dim] = u @ v
        else:
            keep = d[dim - 1]
            d[dim - 1] = -1
            t[:dim, :dim] = u @ np.diag(d) @ v
            d[dim - 1] = keep
    else:
        t[:dim, :dim] = u @ np.diag(d) @ v
    scale = 1.0 / src_demean.var(axis=0).sum() * (s @ d)  # eq. (41) and (42)
    t[:dim, dim] = dst_mean - scale * (t[:dim, :dim] @ src_mean.T)
    t[:dim, :dim] *= scale
    return t


def norm_crop(image: np.ndarray, landmarks: np.ndarray, image_size: int = 112) -> np.ndarray:
    """The aligned `image_size` x `image_size` crop of the face with these five landmarks (same channels as
    `image`)."""
    matrix = estimate_norm(landmarks, image_size)
    return cv2.warpAffine(image, matrix, (image_size, image_size), borderValue=0.0)
