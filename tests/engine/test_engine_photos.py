"""Real models on real photos (../shared/facedata): enrollment verdicts, attendance decisions, CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attendance_shared.records import merge_session

pytestmark = pytest.mark.facedata

OBAMA, BIDEN = "Barack_Obama", "Joe_Biden"


@pytest.fixture(scope="session", params=["default", "insightface"])
def engine(request, pack_dir: Path):
    """Each test here runs on the default pack and on an insightface-format one (SCRFD + ArcFace wrappers), the
    format a school's licensed buffalo_l comes in; the galleries of conftest.py follow this fixture. The second
    pack is asked for only by its own tests, so the default pack's run without it."""
    from attendance_worker.engine import Engine

    path = pack_dir if request.param == "default" else request.getfixturevalue("insightface_pack_dir")
    engine = Engine.load(path)
    assert engine.pack.kind == request.param
    return engine


def _jpeg(img: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, **kwargs)
    return buf.getvalue()


def _portrait(facedata: Path) -> Path:
    return facedata / "groups/obama_biden/enroll" / OBAMA / "obama.jpg"


def test_enroll_accepts_a_portrait(engine, facedata):
    result = engine.enroll(_portrait(facedata).read_bytes(), "obama.jpg")
    assert result.accepted and result.reason is None
    assert result.embedding is not None and result.embedding.dtype == np.float32
    assert result.embedding.shape == (128,)
    assert abs(float(np.linalg.norm(result.embedding)) - 1.0) < 1e-4
    assert result.face_px and result.face_px > 100 and result.box is not None


def test_enroll_refuses_a_group_photo(engine, facedata):
    photo = facedata / "groups/obama_biden/class/two_people.jpg"
    result = engine.enroll(photo.read_bytes(), "two_people.jpg")
    assert not result.accepted and result.embedding is None
    assert result.reason == "2 faces in two_people.jpg: upload a photo of this student alone"
    solvay = facedata / "groups/solvay1927/solvay1927.jpg"
    result = engine.enroll(solvay.read_bytes(), "solvay1927.jpg")
    assert result.reason == "29 faces in solvay1927.jpg: upload a photo of this student alone"


def test_enroll_refuses_a_photo_with_no_face(engine, facedata):
    # The top-left corner of the Solvay photo: wall and window, nobody in it.
    img = Image.open(facedata / "groups/solvay1927/solvay1927.jpg").convert("RGB").crop((0, 0, 300, 160))
    img = img.resize((600, 320))
    result = engine.enroll(_jpeg(img), "wall.jpg")
    assert not result.accepted
    assert result.reason == "No face found in wall.jpg"


def test_enroll_refuses_a_tiny_face_with_its_size(engine, facedata):
    img = Image.open(_portrait(facedata)).convert("RGB")
    img = img.resize((img.width // 12, img.height // 12), Image.LANCZOS)
    result = engine.enroll(_jpeg(img), "tiny.jpg")
    assert not result.accepted
    assert result.reason is not None and "tiny.jpg" in result.reason
    assert "too small" in result.reason and f"{result.face_px} px" in result.reason


def test_enroll_reports_unreadable_files(engine):
    result = engine.enroll(b"hello, not a photo", "notes.txt")
    assert not result.accepted and "notes.txt" in (result.reason or "")


def test_exif_orientation_is_applied(engine, facedata):
    img = Image.open(_portrait(facedata)).convert("RGB")
    upright = engine.enroll(_jpeg(img), "upright.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; viewers turn it 90 degrees clockwise
    rotated = img.transpose(Image.Transpose.ROTATE_90)
    analysis = engine.analyze(_jpeg(rotated, exif=exif.tobytes()), "rotated.jpg")
    assert (analysis.width, analysis.height) == img.size
    result = engine.enroll(_jpeg(rotated, exif=exif.tobytes()), "rotated.jpg")
    assert result.accepted
    assert float(result.embedding @ upright.embedding) > 0.9


def test_obama_biden_session_marks_both_present_and_nobody_else(engine, facedata, obama_biden_gallery, lfw_gallery):
    gallery = {**obama_biden_gallery, **lfw_gallery}  # the LFW people are enrolled but absent
    per_photo = []
    for photo in sorted((facedata / "groups/obama_biden/class").iterdir()):
        analysis = engine.analyze(photo.read_bytes(), photo.name)
        decisions = engine.match(analysis.faces, gallery)
        present = sorted(d.person for d in decisions if d.decision == "present")
        assert present == [OBAMA, BIDEN], photo.name
        assert all(d.person is None for d in decisions if d.decision != "present")
        per_photo.append(decisions)
        jpeg = engine.annotate(analysis, decisions, {OBAMA: "Barack Obama", BIDEN: "Joe Biden"})
        assert Image.open(io.BytesIO(jpeg)).size[0] > 0
    merged = merge_session(per_photo)
    assert {p for p, m in merged.items() if m.decision == "present"} == {OBAMA, BIDEN}
    for absent in lfw_gallery:
        assert absent not in merged or merged[absent].decision != "present"


def test_faces_24_px_wide_in_a_1080p_photo_are_found_and_named(engine, facedata, obama_biden_gallery, lfw_gallery):
    # The smallest classroom face: the group photo shrunk until its faces are 24 px wide (sharp, as a
    # phone photo of the back row), in a 1920x1080 frame. Found and marked present, like the full-size photo.
    photo = Image.open(facedata / "groups/obama_biden/class/two_people.jpg").convert("RGB")
    full = engine.analyze(_jpeg(photo), "two_people.jpg")
    scale = 24 / max(f.face_px for f in full.faces)
    small = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    frame = Image.new("RGB", (1920, 1080), (120, 130, 140))
    frame.paste(small, (700, 400))
    analysis = engine.analyze(_jpeg(frame), "back_row.jpg")
    assert len(analysis.faces) == 2 and all(20 <= f.face_px <= 28 for f in analysis.faces)
    decisions = engine.match(analysis.faces, {**obama_biden_gallery, **lfw_gallery})
    assert sorted(d.person for d in decisions if d.decision == "present") == [OBAMA, BIDEN]


def test_absent_student_stays_absent(engine, facedata, obama_biden_gallery):
    photo = facedata / "groups/obama_biden/class/two_people.jpg"
    analysis = engine.analyze(photo.read_bytes(), photo.name)
    decisions = engine.match(analysis.faces, {OBAMA: obama_biden_gallery[OBAMA]})  # Biden not in this course
    merged = merge_session([decisions])
    assert set(merged) == {OBAMA} and merged[OBAMA].decision == "present"
    assert [d.decision for d in decisions].count("present") == 1


def test_solvay1927_yields_29_unknown_faces(engine, facedata, lfw_gallery, obama_biden_gallery):
    photo = facedata / "groups/solvay1927/solvay1927.jpg"
    analysis = engine.analyze(photo.read_bytes(), photo.name)
    assert len(analysis.faces) == 29
    decisions = engine.match(analysis.faces, {**lfw_gallery, **obama_biden_gallery})
    assert [d.decision for d in decisions] == ["unknown"] * 29
    assert all(d.person is None for d in decisions)


def test_one_student_never_gets_two_faces_of_one_photo(engine, facedata, obama_biden_gallery):
    # The same portrait twice side by side: both faces match Obama, only one may be him.
    img = Image.open(_portrait(facedata)).convert("RGB")
    img = img.resize((img.width // 2, img.height // 2))
    twice = Image.new("RGB", (img.width * 2 + 40, img.height), (255, 255, 255))
    twice.paste(img, (0, 0))
    twice.paste(img, (img.width + 40, 0))
    analysis = engine.analyze(_jpeg(twice), "twice.jpg")
    assert len(analysis.faces) == 2
    decisions = engine.match(analysis.faces, obama_biden_gallery)
    matched = [d.candidate for d in decisions if d.decision != "unknown"]
    assert matched == [OBAMA]
    assert sum(d.decision == "present" for d in decisions) == 1


def test_cli_identify_json_shape(pack_dir, facedata, tmp_path, capsys):
    from attendance_worker.cli import main

    out = tmp_path / "result.json"
    photo = facedata / "groups/obama_biden/class/two_people.jpg"
    rc = main(
        [
            "identify",
            "--pack",
            str(pack_dir),
            "--gallery",
            str(facedata / "groups/obama_biden/enroll"),
            "--json",
            str(out),
            str(photo),
        ]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    assert set(report) == {"model", "threshold", "enrolled", "photos"}
    assert isinstance(report["model"], str) and isinstance(report["threshold"], float)
    assert {e["person"] for e in report["enrolled"]} == {OBAMA, BIDEN}
    for entry in report["enrolled"]:
        assert set(entry) == {"person", "photo", "accepted", "reason"} and entry["accepted"] is True
    (result,) = report["photos"]
    assert set(result) == {"photo", "width", "height", "seconds", "faces"}
    assert (result["width"], result["height"]) == (1126, 661)
    assert len(result["faces"]) == 2
    for face in result["faces"]:
        assert set(face) == {"box", "detection_score", "decision", "person", "candidate", "similarity"}
        assert len(face["box"]) == 4 and face["decision"] == "present" and face["person"] == face["candidate"]
    assert sorted(f["person"] for f in result["faces"]) == [OBAMA, BIDEN]


def test_cli_exit_2_on_unreadable_input(pack_dir, facedata, tmp_path, capsys):
    from attendance_worker.cli import main

    text = tmp_path / "notes.txt"
    text.write_text("not a photo")
    rc = main(
        ["identify", "--pack", str(pack_dir), "--gallery", str(facedata / "groups/obama_biden/enroll"), str(text)]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "notes.txt" in err and "not a photo we can read" in err
    assert main(["identify", "--pack", str(pack_dir), "--gallery", str(tmp_path / "missing"), str(text)]) == 2


@pytest.mark.parametrize("command", [["models-check"]])
def test_cli_models_check(pack_dir, capsys, command):
    from attendance_worker.cli import main

    assert main([*command, "--pack", str(pack_dir)]) == 0
    out = capsys.readouterr().out
    assert "CPUExecutionProvider" in out and "model id:" in out
