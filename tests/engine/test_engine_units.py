"""Fast unit tests: providers, model pack errors, tiling, assignment and session merging (no photos)."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from attendance_worker.engine import ModelPackError, choose_providers, load_pack
from attendance_worker.engine.detector import Detections, average_with_mirror, nms, plan_tiles
from attendance_worker.engine.matching import FaceQuality, match_faces

THRESHOLDS = {
    "present": 0.40,
    "confirm": 0.28,
    "present_small": 0.46,
    "small_face_px": 40,
    "blur_low": 0,
    "det_score_low": 0,
    "margin": 0.05,
}
GOOD = FaceQuality(face_px=80, blur=500.0, detection_score=0.9)


def test_cpu_provider_chosen_when_cuda_absent(monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert choose_providers() == ["CPUExecutionProvider"]
    assert choose_providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_cuda_first_when_available():
    assert choose_providers(["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


def test_missing_pack_names_file_and_command(tmp_path: Path):
    with pytest.raises(ModelPackError) as err:
        load_pack(tmp_path / "nowhere")
    assert "manifest.json" in str(err.value) and "make models" in str(err.value)


def test_corrupt_model_names_file_and_command(tmp_path: Path, pack_dir: Path):
    pack = tmp_path / "pack"
    pack.mkdir()
    manifest = json.loads((pack_dir / "manifest.json").read_text())
    (pack / "manifest.json").write_text(json.dumps(manifest))
    for entry in manifest["files"].values():
        if entry["file"] != "detector.onnx":
            shutil.copy(pack_dir / entry["file"], pack / entry["file"])
    (pack / "detector.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelPackError) as err:
        load_pack(pack)
    assert "detector.onnx" in str(err.value) and "make models" in str(err.value)
    (pack / "detector.onnx").unlink()
    with pytest.raises(ModelPackError, match=r"detector\.onnx is missing"):
        load_pack(pack)


def test_engine_refuses_unloadable_model(tmp_path: Path):
    from attendance_worker.engine.runtime import make_session

    bad = tmp_path / "detector.onnx"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelPackError, match=r"detector\.onnx.*make models"):
        make_session(bad)


@pytest.mark.parametrize("size", [(1920, 1080), (4000, 3000), (3024, 4032), (640, 480), (250, 250)])
def test_tiles_cover_image_with_bounded_shape(size):
    width, height = size
    tw, th, corners = plan_tiles(width, height, 1_250_000, 128)
    assert tw % 32 == 0 and th % 32 == 0 and tw * th <= 1_250_000
    covered = np.zeros((height, width), bool)
    for x, y in corners:
        covered[y : y + th, x : x + tw] = True
    assert covered.all()
    if len(corners) > 1:  # neighbours overlap by at least the overlap
        xs = sorted({x for x, _ in corners})
        assert all(b - a <= tw - 128 for a, b in itertools.pairwise(xs))


def test_nms_merges_duplicates():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    keep = nms(boxes, np.array([0.9, 0.8, 0.7], np.float32), 0.4)
    assert list(keep) == [0, 2]


def _unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


class _ColourDotDetector:
    """A perfect detector for a test image whose five landmarks are pixels of five unique colours: it reports
    them (pixel centres) in the detector's order for the tile it is given, the face filling the middle half."""

    def __init__(self, colours: np.ndarray) -> None:
        self.colours = colours
        self.tiles: list[np.ndarray] = []

    def detect_tile(self, tile: np.ndarray, threshold: float) -> Detections:
        self.tiles.append(tile)
        found = []
        for colour in self.colours:
            ys, xs = np.nonzero(np.all(tile == colour, axis=-1))
            found.append([xs[0] + 0.5, ys[0] + 0.5])
        # On a mirrored face, the eye on the image's left is the subject's left eye, etc.
        points = np.array(found, np.float32)[[1, 0, 2, 4, 3]]
        side = tile.shape[1]
        box = np.array([[side / 4, side / 4, 3 * side / 4, 3 * side / 4]], np.float32)
        return Detections(box, np.array([0.9], np.float32), points[None])


def test_mirrored_second_look_is_mapped_back_and_averaged():
    """The mirror swaps the eyes and the mouth corners and flips x; mapped back, a perfect second look
    lands on the true points, so the average halves the first pass's error."""
    rgb = np.zeros((300, 400, 3), np.uint8)
    truth = np.array([[150.5, 120.5], [190.5, 121.5], [170.5, 140.5], [155.5, 160.5], [186.5, 161.5]], np.float32)
    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255]], np.uint8)
    for (x, y), colour in zip(truth.astype(int), colours, strict=True):
        rgb[y, x] = colour
    box = np.array([[122, 93, 218, 189]], np.float32)  # 96 px: a 192 px window, no resizing
    first_pass = Detections(box, np.array([0.8], np.float32), (truth + np.array([2.0, -1.0], np.float32))[None])
    backend = _ColourDotDetector(colours)

    out = average_with_mirror(backend, rgb, first_pass, side=192)

    assert backend.tiles[0].shape == (192, 192, 3)
    np.testing.assert_allclose(out.landmarks[0], truth + np.array([1.0, -0.5], np.float32), atol=1e-4)
    np.testing.assert_array_equal(out.boxes, box)
    assert out.scores[0] == np.float32(0.8)


def test_mirrored_second_look_that_misses_keeps_the_first_landmarks():
    class Nothing:
        def detect_tile(self, tile: np.ndarray, threshold: float) -> Detections:
            return Detections.empty()

    det = Detections(
        np.array([[10, 10, 60, 60]], np.float32), np.array([0.9], np.float32), np.ones((1, 5, 2), np.float32)
    )
    rgb = np.zeros((100, 100, 3), np.uint8)
    np.testing.assert_array_equal(average_with_mirror(Nothing(), rgb, det).landmarks, det.landmarks)
    assert len(average_with_mirror(Nothing(), rgb, Detections.empty())) == 0


def test_assignment_never_gives_one_student_two_faces():
    a, b = _unit([1, 0, 0, 0]), _unit([0, 1, 0, 0])
    gallery = {"A": a[None], "B": b[None]}
    # Two faces both look most like A; the second is slightly closer to B than the first is.
    f1 = _unit([0.95, 0.1, 0.3, 0])
    f2 = _unit([0.9, 0.6, 0.0, 0.1])
    decisions = match_faces(np.stack([f1, f2]), [GOOD, GOOD], gallery, THRESHOLDS)
    people = [d.candidate for d in decisions if d.decision != "unknown"]
    assert len(people) == len(set(people))
    assert decisions[0].person == "A"
    assert decisions[1].decision != "present" or decisions[1].person == "B"


def test_hungarian_beats_greedy():
    # Greedy (best pair first) would give A to face 0 and leave face 1 without anyone.
    gallery = {"A": _unit([1, 0, 0])[None], "B": _unit([0, 1, 0])[None]}
    f0 = _unit([0.9, 0.85, 0.0])
    f1 = _unit([0.88, 0.2, 0.3])
    decisions = match_faces(np.stack([f0, f1]), [GOOD, GOOD], gallery, {**THRESHOLDS, "margin": 0.0})
    assert decisions[0].candidate == "B" and decisions[1].candidate == "A"


def test_low_quality_face_needs_more_similarity():
    gallery = {"A": _unit([1, 0, 0])[None]}
    face = _unit([0.42, np.sqrt(1 - 0.42**2), 0])  # similarity 0.42: present if good, confirm if small
    small = FaceQuality(face_px=24, blur=500.0, detection_score=0.9)
    assert match_faces(face[None], [GOOD], gallery, THRESHOLDS)[0].decision == "present"
    assert match_faces(face[None], [small], gallery, THRESHOLDS)[0].decision == "confirm"


def test_a_student_of_another_course_keeps_a_look_alike_face_from_a_course_student():
    """A sibling in another course: the course student wins by a wide margin over the rest of the course, but the
    teacher's other students (outsiders, never marked) show who the face more likely is."""
    gallery = {"George": _unit([1, 0, 0, 0])[None], "Ann": _unit([0, 1, 0, 0])[None]}
    face = _unit([0.55, 0.05, 0.83, 0])  # similarity 0.55 to George, far above Ann
    assert match_faces(face[None], [GOOD], gallery, THRESHOLDS)[0].decision == "present"  # without outsiders
    jeb = {"Jeb": _unit([0.3, 0, 0.95, 0])[None]}  # the face's own person, in another of the teacher's courses
    d = match_faces(face[None], [GOOD], gallery, THRESHOLDS, jeb)[0]
    assert d.decision == "unknown" and d.person is None and d.candidate == "George"  # never an outsider's name
    close = {"Jeb": _unit([0.1, 0, 0.55, 0.83])[None]}  # 0.51: below George (0.55), within the margin: confirm
    assert match_faces(face[None], [GOOD], gallery, THRESHOLDS, close)[0].decision == "confirm"
    far = {"Zoe": _unit([0, 0, 0, 1])[None]}  # nobody like the face: no change
    assert match_faces(face[None], [GOOD], gallery, THRESHOLDS, far)[0].decision == "present"


def test_open_set_unknown_and_empty_gallery():
    gallery = {"A": _unit([1, 0, 0])[None]}
    stranger = _unit([0, 0, 1])
    d = match_faces(stranger[None], [GOOD], gallery, THRESHOLDS)[0]
    assert d.decision == "unknown" and d.person is None and d.candidate == "A"
    assert match_faces(stranger[None], [GOOD], {}, THRESHOLDS)[0].decision == "unknown"


def test_insightface_format_pack_is_recognised(tmp_path: Path):
    (tmp_path / "det_10g.onnx").write_bytes(b"detector bytes")
    (tmp_path / "w600k_r50.onnx").write_bytes(b"recognizer bytes")
    pack = load_pack(tmp_path)
    assert pack.kind == "insightface"
    assert pack.detector_path.name == "det_10g.onnx" and pack.recognizer_path.name == "w600k_r50.onnx"
    assert pack.model_id.startswith("insightface:det_10g+w600k_r50:")
    assert pack.thresholds["present"] > pack.thresholds["confirm"]
    (tmp_path / "w600k_r50.onnx").write_bytes(b"other recognizer")
    assert load_pack(tmp_path).model_id != pack.model_id  # a different file is a different model


def test_make_models_leaves_an_insightface_pack_alone(tmp_path: Path):
    # `MODEL_PACK=/opt/buffalo_l make run` runs `make models` on that folder: a default pack written there would
    # win over the school's files (load_pack prefers manifest.json).
    from attendance_model_export.build import build

    (tmp_path / "det_10g.onnx").write_bytes(b"detector bytes")
    (tmp_path / "w600k_r50.onnx").write_bytes(b"recognizer bytes")
    said: list[str] = []
    assert build(tmp_path, log=said.append) == tmp_path
    assert sorted(p.name for p in tmp_path.iterdir()) == ["det_10g.onnx", "w600k_r50.onnx"]
    assert "insightface-format pack" in said[0] and load_pack(tmp_path).kind == "insightface"


def test_insightface_pack_without_recognizer_names_what_is_missing(tmp_path: Path):
    (tmp_path / "det_10g.onnx").write_bytes(b"detector bytes")
    with pytest.raises(ModelPackError, match="ArcFace recognizer"):
        load_pack(tmp_path)


def test_get_engine_is_a_process_wide_singleton_reading_model_pack(monkeypatch, pack_dir: Path):
    from attendance_shared.settings import get_settings
    from attendance_worker.engine import get_engine, reset_engine

    monkeypatch.setenv("MODEL_PACK", str(pack_dir))
    get_settings.cache_clear()
    reset_engine()
    try:
        engine = get_engine()
        assert get_engine() is engine
        recognizers = json.loads((pack_dir / "manifest.json").read_text())["files"]
        assert engine.model_id in {e.get("model_id") for e in recognizers.values()} - {None}
    finally:
        reset_engine()
        get_settings.cache_clear()


def test_model_build_is_idempotent(pack_dir: Path, capsys):
    from attendance_model_export.build import pack_is_current

    if not (pack_dir / "manifest.json").is_file():
        pytest.skip("MODEL_PACK is not a default-format pack")
    assert pack_is_current(pack_dir)


def test_vnni_is_read_from_cpu_flags():
    from attendance_worker.engine.runtime import cpu_has_vnni

    assert cpu_has_vnni("processor: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n") is True
    assert cpu_has_vnni("flags : fpu sse2 avx2 avx_vnni\n") is True
    assert cpu_has_vnni("flags : fpu sse2 avx2 fma\n") is False
    assert cpu_has_vnni("Features : fp asimd\n") is None  # not x86


def test_int8_runs_on_every_x86_cpu():
    from attendance_worker.engine.runtime import CPU, CUDA, int8_runs_here

    vnni, avx2, arm = "flags : avx2 avx512_vnni\n", "flags : avx2 fma\n", "Features : fp asimd\n"
    for machine in ("x86_64", "AMD64"):  # Linux's name, and Windows'
        assert int8_runs_here([CPU], vnni, machine=machine) is True
        assert int8_runs_here([CPU], avx2, machine=machine) is True  # 7-bit weights: exact without VNNI too
        assert int8_runs_here([CPU], "", machine=machine) is True  # /proc/cpuinfo unreadable: x86 is enough
    assert int8_runs_here([CPU], arm, machine="aarch64") is False  # never measured
    assert int8_runs_here([CPU], arm, machine="arm64") is False
    assert int8_runs_here([CUDA, CPU], vnni, machine="x86_64") is False  # fp32 is faster on a GPU
    # A pack built with 8-bit weights: int8 only where VNNI makes it exact, and known to be there.
    assert int8_runs_here([CPU], vnni, weight_limit=127, machine="x86_64") is True
    assert int8_runs_here([CPU], avx2, weight_limit=127, machine="x86_64") is False
    assert int8_runs_here([CPU], "", weight_limit=127, machine="x86_64") is False


def test_the_builder_limit_is_the_one_the_runtime_trusts():
    from attendance_model_export.quantize import INT8_WEIGHT_LIMIT
    from attendance_worker.engine.runtime import EXACT_INT8_WEIGHT_LIMIT

    assert INT8_WEIGHT_LIMIT == EXACT_INT8_WEIGHT_LIMIT and 255 * 2 * EXACT_INT8_WEIGHT_LIMIT <= 32767


def test_models_check_says_which_detector_and_recognizer_run(monkeypatch, pack_dir: Path, capsys):
    from attendance_shared.settings import get_settings
    from attendance_worker import cli
    from attendance_worker.engine import runtime

    if not (pack_dir / "manifest.json").is_file():
        pytest.skip("MODEL_PACK is not a default-format pack")
    monkeypatch.delenv("RECOGNIZER_PRECISION", raising=False)
    get_settings.cache_clear()
    for has_vnni in (True, False):  # the 7-bit int8 models on every x86 CPU
        monkeypatch.setattr(runtime, "cpu_has_vnni", lambda cpuinfo=None, v=has_vnni: v)
        monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: True)
        assert cli.main(["models-check", "--pack", str(pack_dir)]) == 0
        out = capsys.readouterr().out
        assert "detector_int8.onnx (int8)" in out and "int8 first pass" in out
        assert "recognizer: recognizer_int8.onnx (int8" in out
        assert "warning" not in out
    monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: False)  # ARM: never measured in int8
    assert cli.main(["models-check", "--pack", str(pack_dir)]) == 0
    out = capsys.readouterr().out
    assert "fp32 for both passes" in out and "recognizer: recognizer.onnx (fp32" in out


def test_models_check_warns_about_a_pack_with_8_bit_weights(monkeypatch, pack_dir: Path, tmp_path: Path, capsys):
    """A pack built before 7-bit weights: its int8 models saturate without VNNI; the admin is told to rebuild."""
    from attendance_worker import cli
    from attendance_worker.engine import runtime

    if not (pack_dir / "manifest.json").is_file():
        pytest.skip("MODEL_PACK is not a default-format pack")
    old = tmp_path / "pack"
    shutil.copytree(pack_dir, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for role in ("detector_coarse", "recognizer_int8"):
        del manifest["files"][role]["weight_limit"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.delenv("RECOGNIZER_PRECISION", raising=False)
    monkeypatch.setattr(runtime, "cpu_has_vnni", lambda cpuinfo=None: False)
    monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: True)
    assert cli.main(["models-check", "--pack", str(old)]) == 0
    out = capsys.readouterr().out
    assert "warning" in out and "detector_int8.onnx, recognizer_int8.onnx" in out and "make models" in out
    assert "fp32 for both passes" in out and "recognizer: recognizer.onnx (fp32" in out  # the 8-bit models do not run


def test_worker_environment_asks_glibc_for_huge_pages_and_keeps_other_tunables():
    from attendance_worker.engine.runtime import MALLOC_TUNABLES, malloc_hugepages_requested, with_malloc_tunables

    env = with_malloc_tunables({"PATH": "/bin"})
    assert env == {"PATH": "/bin", "GLIBC_TUNABLES": MALLOC_TUNABLES}
    assert malloc_hugepages_requested(env) and not malloc_hugepages_requested({"PATH": "/bin"})
    kept = with_malloc_tunables({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0"})
    assert kept["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{MALLOC_TUNABLES}"


def test_models_check_says_whether_the_worker_has_huge_pages(monkeypatch, pack_dir: Path, capsys):
    from attendance_worker import cli

    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=1")
    assert cli.main(["models-check", "--pack", str(pack_dir)]) == 0
    assert "memory:     huge pages for large buffers" in capsys.readouterr().out
    monkeypatch.delenv("GLIBC_TUNABLES")
    assert cli.main(["models-check", "--pack", str(pack_dir)]) == 0
    assert "is not set for this process; the worker image sets it" in capsys.readouterr().out


class _OneFace:
    """A detector backend that sees one 30 px face at (cx, cy) of the full-size image, with a fixed score."""

    def __init__(self, score: float, scale: float, cx: float = 1000.0, cy: float = 500.0):
        self.score, self.scale, self.cx, self.cy = score, scale, cx, cy
        self.origin = (0.0, 0.0)

    def detect_tile(self, tile_rgb: np.ndarray, threshold: float):
        from attendance_worker.engine.detector import Detections

        marker = np.argwhere(tile_rgb[..., 0] == 255)  # the face is drawn as a white pixel
        if not len(marker) or self.score < threshold:
            return Detections.empty()
        y, x = marker[0]
        half = 15.0 / self.scale
        box = np.array([[x - half, y - half, x + half, y + half]], np.float32)
        marks = np.repeat(np.array([[[x, y]]], np.float32), 5, axis=1)
        return Detections(box, np.array([self.score], np.float32), marks)


def test_two_stage_marks_faces_both_passes_agree_on():
    from attendance_worker.engine.detector import Detections, TiledDetector, TwoStageDetector

    img = np.zeros((1080, 1920, 3), np.uint8)
    img[500:502, 1000:1002] = 255  # survives the half-size INTER_AREA resize as a 255 pixel
    for coarse_score, expected in ((0.4, True), (0.07, False)):
        detector = TwoStageDetector(
            TiledDetector(_OneFace(0.35, 1.0)), coarse=TiledDetector(_OneFace(coarse_score, 2.0))
        )
        det = detector.detect(img)
        assert len(det) == 1 and det.agreement().tolist() == [expected]
    merged = Detections.concat([det, Detections(det.boxes, det.scores, det.landmarks)])
    assert merged.agreement().tolist() == [False, False] and merged.take(np.array([1])).agreed is not None


def test_pack_thresholds_judge_a_sharp_small_face_like_a_large_one():
    # Calibrated in docs/benchmarks.md: downscaled LFW probes score no higher against other people than native
    # ones; blur and weak detection do, so only they call for the stricter threshold.
    from attendance_model_export.build import DEFAULT_THRESHOLDS as T
    from attendance_worker.engine.matching import present_threshold

    sharp_small = FaceQuality(face_px=24, blur=80.0, detection_score=0.9)
    sharp_large = FaceQuality(face_px=120, blur=80.0, detection_score=0.9)
    assert present_threshold(sharp_small, T) == present_threshold(sharp_large, T) == T["present"]
    assert present_threshold(FaceQuality(24, blur=T["blur_low"] - 1, detection_score=0.9), T) == T["present_small"]
    assert (
        present_threshold(FaceQuality(120, blur=80.0, detection_score=T["det_score_low"] - 0.1), T)
        == T["present_small"]
    )
    assert T["present_small"] > T["present"]


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2.1's contrast ratio of two sRGB colours."""

    def luminance(rgb: tuple[int, int, int]) -> float:
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_annotated_photo_colours_are_the_review_pages_and_its_names_read_at_aa():
    """The worker's annotated copy draws white names on the face's colour, as the review page does (WCAG 1.4.3)."""
    import re

    from attendance_worker.engine.annotate import COLOURS

    css = (Path(__file__).parents[2] / "services/web/attendance_web/static/review.css").read_text()
    page = {m[1]: m[2] for m in re.finditer(r"--face-(\w+):#([0-9a-f]{6})", css)}
    for decision, name in (("present", "matched"), ("confirm", "confirm"), ("unknown", "unknown")):
        assert "".join(f"{c:02x}" for c in COLOURS[decision]) == page[name], decision
        assert _contrast(COLOURS[decision], (255, 255, 255)) >= 4.5, decision
