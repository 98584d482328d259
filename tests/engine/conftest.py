"""Fixtures for the engine tests: real models (built if missing) and real photos (tests/conftest.py's `facedata`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def model_pack_dir() -> Path:
    return Path(os.environ.get("MODEL_PACK", REPO / "models" / "default"))


@pytest.fixture(scope="session")
def pack_dir() -> Path:
    path = model_pack_dir()
    if not (path / "manifest.json").is_file() and not any(path.glob("*.onnx")):
        from attendance_model_export.build import build

        build(path)
    return path


@pytest.fixture(scope="session")
def insightface_pack_dir(pack_dir: Path) -> Path:
    """An insightface-format pack (SCRFD from PyPI + the default SFace; tools/insightface_test_pack.py), so that
    path runs on real photos too. `make test` builds it; built here when missing."""
    path = Path(os.environ.get("INSIGHTFACE_TEST_PACK", REPO / "models" / "insightface-test"))
    if not any(path.glob("*.onnx")):
        tool = REPO / "tools" / "insightface_test_pack.py"
        built = subprocess.run([sys.executable, str(tool), "--default", str(pack_dir), "--out", str(path)])
        if built.returncode != 0:
            message = f"the insightface-format test pack could not be built at {path} (make test-pack; needs PyPI)"
            if os.environ.get("REQUIRE_FACEDATA") == "1":
                pytest.fail(message + "; REQUIRE_FACEDATA=1 makes this a failure")
            pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def engine(pack_dir: Path):
    from attendance_worker.engine import Engine

    return Engine.load(pack_dir)


@pytest.fixture(scope="session")
def obama_biden_gallery(engine, facedata: Path) -> dict[str, np.ndarray]:
    gallery = {}
    for person_dir in sorted((facedata / "groups/obama_biden/enroll").iterdir()):
        embs = []
        for photo in sorted(person_dir.iterdir()):
            result = engine.enroll(photo.read_bytes(), photo.name)
            assert result.accepted, result.reason
            embs.append(result.embedding)
        gallery[person_dir.name] = np.stack(embs)
    return gallery


@pytest.fixture(scope="session")
def lfw_gallery(engine, facedata: Path) -> dict[str, np.ndarray]:
    """A few LFW people enrolled from photos 1-3 (none of them in the group photos)."""
    gallery = {}
    for name in ("Colin_Powell", "Gerhard_Schroeder", "Jennifer_Capriati", "Serena_Williams", "Tony_Blair"):
        embs = []
        for i in (1, 2, 3):
            photo = facedata / "lfw/identities" / name / f"{name}_{i:04d}.jpg"
            result = engine.enroll(photo.read_bytes(), photo.name)
            if result.accepted:
                embs.append(result.embedding)
        assert embs, name
        gallery[name] = np.stack(embs)
    return gallery
