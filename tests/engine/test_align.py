"""The worker's own 5-point alignment (engine/align.py) gives insightface's norm_crop crops, without insightface.

insightface is an optional part now (only insightface-format packs use it), so the comparisons skip where it is
not installed; the dev venv has it (`make install`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from attendance_worker.engine.align import ARCFACE_112, estimate_norm, norm_crop


def _insightface_norm_crop():
    return pytest.importorskip("insightface.utils.face_align", reason="insightface is not installed here").norm_crop


def _apply(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ matrix[:, :2].T + matrix[:, 2]


def test_landmarks_on_the_reference_points_are_left_where_they_are():
    np.testing.assert_allclose(estimate_norm(ARCFACE_112), [[1, 0, 0], [0, 1, 0]], atol=1e-5)


def test_a_turned_scaled_shifted_face_is_brought_onto_the_reference_points():
    angle = np.deg2rad(20.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = (ARCFACE_112 @ rot.T) * 2.5 + [300.0, 140.0]
    np.testing.assert_allclose(_apply(estimate_norm(landmarks), landmarks), ARCFACE_112, atol=1e-3)
    # A 224 crop has the same layout twice as large; a 128 one has it centred (8 px each side at 128).
    np.testing.assert_allclose(_apply(estimate_norm(landmarks, 224), landmarks), ARCFACE_112 * 2, atol=1e-3)
    np.testing.assert_allclose(
        _apply(estimate_norm(landmarks, 128), landmarks), ARCFACE_112 + np.array([8.0, 0.0]), atol=1e-3
    )


def test_wrong_landmarks_or_sizes_are_refused_in_words():
    with pytest.raises(ValueError, match="5 landmarks"):
        estimate_norm(np.zeros((68, 2)))
    with pytest.raises(ValueError, match="multiple of 112 or 128"):
        estimate_norm(ARCFACE_112, 100)


@pytest.mark.parametrize("image_size", [112, 128, 224])
def test_crops_equal_insightface_norm_crop_on_varied_landmarks(image_size: int):
    reference = _insightface_norm_crop()
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    for _ in range(50):
        angle = np.deg2rad(rng.uniform(-40, 40))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        landmarks = (ARCFACE_112 @ rot.T) * rng.uniform(0.2, 3.0) + rng.uniform(0, 400, 2)
        landmarks = (landmarks + rng.normal(0, 2.0, landmarks.shape)).astype(np.float32)
        ours, theirs = norm_crop(image, landmarks, image_size), reference(image, landmarks, image_size=image_size)
        assert ours.shape == theirs.shape == (image_size, image_size, 3)
        assert int(np.abs(ours.astype(int) - theirs.astype(int)).max()) <= 1


@pytest.mark.facedata
def test_crops_equal_insightface_norm_crop_on_real_faces(engine, facedata: Path):
    """Every face the default pack finds in the group photos: the same crop, to the grey level."""
    reference = _insightface_norm_crop()
    photos = [
        *sorted((facedata / "groups/obama_biden/class").glob("*.jpg")),
        facedata / "groups/solvay1927/solvay1927.jpg",
    ]
    compared = worst = 0
    for photo in photos:
        rgb = engine.decode(photo.read_bytes(), photo.name)
        for face in engine.analyze_image(rgb, embed=False):
            ours = engine.recognizer.align(rgb, face.landmarks)
            theirs = reference(rgb, landmark=np.asarray(face.landmarks, np.float32), image_size=112)
            worst = max(worst, int(np.abs(ours.astype(int) - theirs.astype(int)).max()))
            compared += 1
    assert compared >= 30
    assert worst <= 1


def test_matrices_equal_scikit_image_similarity_transform_bit_for_bit():
    """align.umeyama is scikit-image's estimate, copied so the worker does not load SciPy's linear algebra."""
    similarity = pytest.importorskip("skimage.transform", reason="scikit-image is not installed here")
    rng = np.random.default_rng(11)
    cases = [np.zeros((5, 2), np.float32), np.tile(np.arange(5, dtype=np.float32)[:, None], (1, 2))]
    for _ in range(500):
        angle = rng.uniform(-np.pi, np.pi)
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        landmarks = (ARCFACE_112 @ rot.T) * rng.uniform(0.1, 30.0) + rng.uniform(-100, 4000, 2)
        cases.append((landmarks + rng.normal(0, rng.uniform(0, 20), (5, 2))).astype(np.float32))
    for landmarks in cases:
        theirs = similarity.SimilarityTransform.from_estimate(landmarks, ARCFACE_112)
        expected = np.asarray(theirs.params[0:2, :]) if theirs else np.full((2, 3), np.nan)
        np.testing.assert_array_equal(estimate_norm(landmarks), expected)
