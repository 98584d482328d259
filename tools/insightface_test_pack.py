"""Build the insightface-format pack that the tests and `bench.run` use to run that path for real.

A school that licenses an insightface pack (buffalo_l: SCRFD + ArcFace) points MODEL_PACK at it; no such pack can
be downloaded here, and insightface's own packs are not licensed for a school product. This pack is the nearest
thing PyPI carries, and exists only so the worker's insightface path (insightface's SCRFD wrapper, its ArcFace
wrapper, a pack without a manifest, thresholds.json) runs on real photos in `make test`:

- the detector is the SCRFD model in the `scrfd==0.3.0` sdist (`models/scrfd.onnx`, fixed 1x3x640x640). Its
  upsampling uses fixed output sizes; they become scale factors of 2, and the input's height and width become
  dynamic, as in insightface's own `det_*.onnx` (the worker's tiles and windows have many sizes). Checked: the
  same outputs as the original at 640x640.
- the recognizer is the default pack's fp32 SFace, in the ArcFace format (insightface's wrapper reads its
  normalisation from the graph), and thresholds.json holds the default pack's thresholds.

Never used by the product: the detector's weights come without a statement of their origin or terms, and the
default pack stays CenterFace + SFace.

    .venv/bin/python tools/insightface_test_pack.py --default models/default --out models/insightface-test
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SDIST = "scrfd==0.3.0"
SDIST_SHA256 = "35855c664d565492aab0068f1c64b4957a15ca6cd106b9c8b1642d67cfeeb5fc"
MEMBER = "scrfd-0.3.0/models/scrfd.onnx"
MEMBER_SHA256 = "9c162a817c7dd32d35d1f1c6ae6445032d6e73c6c5fe61d8b5b663ba8bc86b30"
DETECTOR_FILE = "det_scrfd.onnx"  # the det_ prefix and the "arcface" name are how load_pack finds the two files
RECOGNIZER_FILE = "arcface_sface.onnx"
SOURCE_FILE = "source.json"


class PackError(RuntimeError):
    pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_scrfd(workdir: Path) -> bytes:
    """pip-download the pinned sdist (no install), verify it and the model file in it. pip's hash-checking mode
    checks the archive before its build backend runs to read the metadata."""
    requirement = workdir / "requirements.txt"
    requirement.write_text(f"{SDIST} --hash=sha256:{SDIST_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:", "--require-hashes"]
    proc = subprocess.run([*cmd, "-r", str(requirement), "--dest", str(workdir)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PackError(f"pip download {SDIST} failed:\n{proc.stderr.strip()[-2000:]}")
    archives = sorted(workdir.glob("scrfd-*.tar.gz"))
    if len(archives) != 1 or _sha256(archives[0].read_bytes()) != SDIST_SHA256:
        raise PackError(f"{SDIST}: expected one sdist with sha256 {SDIST_SHA256} in {workdir}")
    with tarfile.open(archives[0]) as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise PackError(f"{archives[0].name} has no {MEMBER}")
        data = member.read()
    if _sha256(data) != MEMBER_SHA256:
        raise PackError(f"{MEMBER}: sha256 does not match the pinned {MEMBER_SHA256}")
    return data


def make_dynamic(data: bytes) -> Any:
    """SCRFD with a 1 x 3 x H x W input: each fixed-size nearest Resize becomes a x2 scale (H, W multiples of 32)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_from_string(data)
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    for dim, name in ((dims[2], "height"), (dims[3], "width")):
        dim.Clear()
        dim.dim_param = name
    graph.initializer.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "upsample_x2_scales"))
    for node in graph.node:
        if node.op_type == "Resize":
            if len(node.input) != 4:
                raise PackError(f"unexpected Resize node {node.name}: {list(node.input)}")
            del node.input[3]
            node.input[2] = "upsample_x2_scales"
    for output in graph.output:
        anchors = output.type.tensor_type.shape.dim[1]
        anchors.Clear()
        anchors.dim_param = "anchors"
    del graph.value_info[:]
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    return model


def check_same_outputs(original: bytes, converted: bytes) -> float:
    """Largest difference between the two models on the original's 640x640 input; the converted one must also
    run at another size."""
    import onnxruntime as ort

    def session(model: bytes) -> Any:
        return ort.InferenceSession(model, providers=["CPUExecutionProvider"])

    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 640, 640)).astype(np.float32)
    a, b = session(original), session(converted)
    name = a.get_inputs()[0].name
    err = max(float(np.abs(p - q).max()) for p, q in zip(a.run(None, {name: x}), b.run(None, {name: x}), strict=True))
    if err > 1e-4:
        raise PackError(f"the dynamic SCRFD differs from the original by {err}")
    b.run(None, {name: np.zeros((1, 3, 256, 384), np.float32)})
    return err


def build(default_pack: Path, out: Path) -> Path:
    """Write the pack into `out` (replaced whole); skip when it was built from these sources already."""
    manifest = json.loads((default_pack / "manifest.json").read_text())
    recognizer = manifest["files"]["recognizer"]
    wanted = {"scrfd_member_sha256": MEMBER_SHA256, "recognizer_sha256": recognizer["sha256"]}
    wanted["thresholds"] = manifest["thresholds"]
    source = out / SOURCE_FILE
    if source.is_file() and json.loads(source.read_text()).get("built_from") == wanted:
        print(f"{out}: insightface-format test pack is up to date")
        return out
    with tempfile.TemporaryDirectory() as tmp:
        original = fetch_scrfd(Path(tmp))
    converted = make_dynamic(original).SerializeToString()
    err = check_same_outputs(original, converted)
    staging = out.with_name(out.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / DETECTOR_FILE).write_bytes(converted)
    shutil.copyfile(default_pack / recognizer["file"], staging / RECOGNIZER_FILE)
    (staging / "thresholds.json").write_text(json.dumps(manifest["thresholds"], indent=2) + "\n")
    note = {
        "purpose": "tests and benchmark of the insightface-format path only; never the product's pack",
        "detector": {"sdist": SDIST, "sdist_sha256": SDIST_SHA256, "member": MEMBER, "max_conversion_error": err},
        "recognizer": {"from": str(default_pack / recognizer["file"]), "name": recognizer["name"]},
        "built_from": wanted,
    }
    (staging / SOURCE_FILE).write_text(json.dumps(note, indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    staging.replace(out)
    print(f"{out}: wrote the insightface-format test pack (SCRFD conversion error {err:.2g})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--default", type=Path, default=Path("models/default"), help="the built default pack")
    parser.add_argument("--out", type=Path, default=Path("models/insightface-test"))
    args = parser.parse_args(argv)
    try:
        build(args.default, args.out)
    except (PackError, OSError, KeyError, ValueError) as exc:
        print(f"insightface test pack failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
