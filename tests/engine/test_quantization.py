"""The int8 models: built from the committed calibration ranges, checked against fp32, used where they help."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from attendance_model_export import quantize
from attendance_worker.engine.runtime import CPU, CUDA


def test_calibration_ranges_are_committed_for_both_models():
    for role in ("detector", "recognizer", quantize.CHANNEL_RANGES):
        data = json.loads(quantize.calibration_path(role).read_text())
        assert data, f"{role}: empty calibration"


def test_missing_calibration_says_which_command_makes_it(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(quantize, "CALIBRATION_DIR", tmp_path)
    with pytest.raises(quantize.QuantizationError, match=r"detector\.json is missing.*bench\.calibrate"):
        quantize.quantize_from_cache(object(), "detector")


def test_pack_records_precision_and_a_coarse_int8_detector(pack_dir: Path):
    manifest = json.loads((pack_dir / "manifest.json").read_text())
    files = manifest["files"]
    assert files["detector"]["precision"] == "fp32"  # full-resolution windows: landmarks feed the alignment
    assert files["detector_coarse"]["precision"] == "int8"
    assert files["recognizer"]["precision"] == "fp32" and files["recognizer_int8"]["precision"] == "int8"
    # Each recognizer has its own model id: their embeddings are never compared with each other.
    assert files["recognizer"]["model_id"].endswith("-fp32-" + files["recognizer"]["sha256"][:8])
    assert files["recognizer_int8"]["model_id"].endswith("-int8-" + files["recognizer_int8"]["sha256"][:8])
    assert manifest["model_id"] == files["recognizer"]["model_id"]
    for role in ("detector_coarse", "recognizer_int8"):
        assert files[role]["weight_limit"] == 64  # 7-bit weights: exact on every x86 CPU


def test_recognizer_precision_follows_the_cpu_unless_set(monkeypatch, pack_dir: Path):
    from attendance_worker.engine import Engine, runtime
    from attendance_worker.engine.pack import load_pack

    pack = load_pack(pack_dir)
    assert pack.recognizer_int8_path is not None and pack.recognizer_int8_model_id is not None
    for has_vnni in (True, False):  # x86 with or without VNNI: the 7-bit int8 recognizer
        monkeypatch.setattr(runtime, "cpu_has_vnni", lambda cpuinfo=None, v=has_vnni: v)
        monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: True)
        auto = Engine(pack, providers=[CPU])
        assert (auto.recognizer_path, auto.model_id) == (pack.recognizer_int8_path, pack.recognizer_int8_model_id)
        fp32 = Engine(pack, providers=[CPU], recognizer_precision="fp32")
        assert (fp32.recognizer_path, fp32.model_id) == (pack.recognizer_path, pack.model_id)
    monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: False)  # not x86: int8 never measured
    assert Engine(pack, providers=[CPU]).model_id == pack.model_id
    forced = Engine(pack, providers=[CPU], recognizer_precision="int8")
    assert forced.model_id == pack.recognizer_int8_model_id


def test_production_auto_runs_one_recognizer_on_every_cpu(monkeypatch, pack_dir: Path):
    """An Auto Scaling group can mix x86 CPUs with and without VNNI: "auto" gives every one of them the same model
    id, in production as in development (the int8 recognizer's 7-bit weights make its arithmetic exact on all)."""
    from attendance_worker.engine import Engine, runtime
    from attendance_worker.engine.pack import load_pack

    pack = load_pack(pack_dir)
    settings = SimpleNamespace(
        model_pack=pack_dir,
        ort_intra_op_threads=1,
        ort_inter_op_threads=1,
        max_image_pixels=60_000_000,
        recognizer_precision="auto",
        is_production=True,
    )
    model_ids = set()
    for has_vnni in (True, False):
        monkeypatch.setattr(runtime, "cpu_has_vnni", lambda cpuinfo=None, v=has_vnni: v)
        monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: True)
        model_ids.add(Engine.load(pack_dir, settings=settings).model_id)
    assert model_ids == {pack.recognizer_int8_model_id}


def test_int8_models_cannot_saturate_on_this_cpu(engine, facedata, pack_dir: Path):
    """The pack's int8 models give exactly what their integers mean on this CPU: the same as twins whose weights are
    stored as u8 (quantize.exact_twin), which onnxruntime multiplies in 16-bit lanes that cannot overflow. With 8-bit
    weights the recognizer and its twin differed on an AVX2 CPU (cosine 0.993 at worst); with 7-bit ones both models
    are bit-equal to their twins, with or without VNNI."""
    import onnxruntime as ort

    from attendance_worker.engine.pack import load_pack

    pack = load_pack(pack_dir)
    assert pack.recognizer_int8_path is not None and pack.detector_coarse_path is not None
    crops = []
    for path in sorted((facedata / "lfw" / "identities").glob("*/*_0005.jpg"))[:24]:
        rgb = engine.decode(path.read_bytes(), path.name)
        face = max(engine.analyze_image(rgb, embed=False), key=lambda f: f.face_px)
        crops.append(engine.recognizer.align(rgb, face.landmarks).transpose(2, 0, 1))
    inputs = {
        pack.recognizer_int8_path: np.stack(crops).astype(np.float32),
        pack.detector_coarse_path: quantize.synthetic_images(2, (320, 480), seed=3),
    }
    for path, blob in inputs.items():
        model = path.read_bytes()
        assert quantize.largest_int8_weight(model) <= quantize.INT8_WEIGHT_LIMIT == 64
        outputs = []
        for graph in (model, quantize.exact_twin(model)):
            session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
            outputs.append(session.run(None, {session.get_inputs()[0].name: blob}))
        assert all(np.array_equal(a, b) for a, b in zip(*outputs, strict=True)), path.name


def test_engine_uses_int8_for_the_first_pass_on_every_x86_cpu(monkeypatch, pack_dir: Path):
    from attendance_worker.engine import Engine, runtime
    from attendance_worker.engine.pack import load_pack

    pack = load_pack(pack_dir)
    for has_vnni in (True, False):  # 7-bit weights: exact with or without VNNI
        monkeypatch.setattr(runtime, "cpu_has_vnni", lambda cpuinfo=None, v=has_vnni: v)
        monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: True)
        engine = Engine(pack, providers=[CPU])
        assert engine.detector.coarse.backend is not engine.detector.backend
        assert engine.detector.tiled.backend is engine.detector.backend
    # Where int8 was never measured (not x86), both passes run the fp32 detector.
    monkeypatch.setattr(runtime, "cpu_is_x86", lambda machine=None: False)
    fallback = Engine(pack, providers=[CPU])
    assert fallback.detector.coarse.backend is fallback.detector.backend


def test_engine_keeps_fp32_detector_for_both_passes_on_cuda(monkeypatch, pack_dir: Path):
    from attendance_worker.engine import core
    from attendance_worker.engine.pack import load_pack

    made: list[str] = []

    def fake_session(path, **kwargs):
        made.append(Path(path).name)
        return _FakeSession()

    monkeypatch.setattr(core, "make_session", fake_session)
    monkeypatch.setattr(core, "Recognizer", lambda *a, **k: None)
    engine = core.Engine(load_pack(pack_dir), providers=[CUDA, CPU])
    assert made == ["detector.onnx"]
    assert engine.detector.coarse.backend is engine.detector.backend


class _FakeSession:
    def get_inputs(self):
        return [type("I", (), {"name": "input.1"})()]

    def get_outputs(self):
        return []


def test_int8_recognizer_agrees_with_fp32_on_real_faces(engine, facedata):
    """The same photo through both recognizers gives neighbouring embeddings (cosine; same-person photos score
    0.6-0.9 and strangers below 0.45, so this changes no decision but the borderline ones). Before the channels
    were equalized (attendance_model_export.equalize) the mean was 0.983."""
    from attendance_model_export.build import fetch_and_convert, quantize_checked

    _, models, _ = fetch_and_convert(log=lambda *_: None)
    crops = []
    for path in sorted((facedata / "lfw" / "identities").glob("*/*_0004.jpg"))[:16]:
        rgb = engine.decode(path.read_bytes(), path.name)
        faces = engine.analyze_image(rgb, embed=False)
        face = max(faces, key=lambda f: f.face_px)
        crops.append(engine.recognizer.align(rgb, face.landmarks).transpose(2, 0, 1))
    blob = np.stack(crops).astype(np.float32)
    int8, _ = quantize_checked("recognizer", models["recognizer"])
    fp32 = models["recognizer"].SerializeToString()
    worst = quantize.compare(fp32, int8, blob, quantize.embedding_agreement)
    mean = quantize.compare(fp32, int8, blob, _mean_cosine)
    assert worst >= 0.98 and mean >= 0.99, (worst, mean)  # 7-bit weights: the same on every x86 CPU


def _mean_cosine(ref: list, got: list) -> float:
    a, b = np.asarray(ref[0], np.float64), np.asarray(got[0], np.float64)
    return float(np.mean(np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)))


def test_a_pack_without_7_bit_weights_is_stale(pack_dir: Path, tmp_path: Path):
    import shutil

    from attendance_model_export import build as model_build

    old = tmp_path / "pack"
    shutil.copytree(pack_dir, old)
    assert model_build.pack_is_current(old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["files"]["detector_coarse"]["weight_limit"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert not model_build.pack_is_current(old)  # `make models` rebuilds it


def test_the_build_refuses_int8_weights_that_can_saturate(monkeypatch, pack_dir: Path):
    import onnx

    from attendance_model_export import build as model_build

    fp32 = onnx.load(str(pack_dir / "detector.onnx"))
    monkeypatch.setattr(quantize, "largest_int8_weight", lambda model: 127)
    with pytest.raises(model_build.BuildError, match=r"weight of 127 \(> 64\) can saturate"):
        model_build.quantize_checked("detector", fp32)
    monkeypatch.setattr(quantize, "largest_int8_weight", lambda model: 0)
    with pytest.raises(model_build.BuildError, match="no int8 weights"):
        model_build.quantize_checked("detector", fp32)


def test_new_calibration_ranges_make_the_pack_stale(monkeypatch, pack_dir: Path):
    from attendance_model_export import build as model_build

    assert model_build.pack_is_current(pack_dir)
    monkeypatch.setattr(model_build, "calibration_checksums", lambda: {"detector.json": "0" * 64})
    assert not model_build.pack_is_current(pack_dir)  # `make models` rebuilds the int8 models
