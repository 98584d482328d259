"""Real group photos: obama_biden (both named in both photos), solvay1927 (29 faces, all unknown),
voc_boxes (detection recall at IoU >= 0.4 against hand-drawn boxes)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

from .common import iou


def run(engine: Any, facedata: Path, lfw_gallery: dict[str, np.ndarray]) -> dict[str, Any]:
    groups = facedata / "groups"
    out: dict[str, Any] = {}
    ob_gallery: dict[str, np.ndarray] = {}
    for person_dir in sorted((groups / "obama_biden/enroll").iterdir()):
        embs = [engine.enroll(p.read_bytes(), p.name) for p in sorted(person_dir.iterdir())]
        ob_gallery[person_dir.name] = np.stack([r.embedding for r in embs if r.accepted])
    gallery = {**lfw_gallery, **ob_gallery}
    photos = []
    for photo in sorted((groups / "obama_biden/class").iterdir()):
        analysis = engine.analyze(photo.read_bytes(), photo.name)
        decisions = engine.match(analysis.faces, gallery)
        photos.append(
            {
                "photo": photo.name,
                "faces": len(analysis.faces),
                "present": sorted(d.person for d in decisions if d.decision == "present"),
                "confirm": sorted(d.candidate for d in decisions if d.decision == "confirm"),
                "similarities": sorted(round(d.similarity, 3) for d in decisions if d.decision == "present"),
                "seconds": round(analysis.seconds, 3),
            }
        )
    out["obama_biden"] = {
        "gallery_size": len(gallery),
        "photos": photos,
        "ok": all(p["present"] == ["Barack_Obama", "Joe_Biden"] for p in photos),
    }
    solvay = groups / "solvay1927/solvay1927.jpg"
    analysis = engine.analyze(solvay.read_bytes(), solvay.name)
    decisions = engine.match(analysis.faces, gallery)
    out["solvay1927"] = {
        "faces": len(analysis.faces),
        "unknown": sum(d.decision == "unknown" for d in decisions),
        "confirm": sum(d.decision == "confirm" for d in decisions),
        "present": sum(d.decision == "present" for d in decisions),
        "max_similarity": round(max((d.similarity for d in decisions), default=0.0), 3),
        "gallery_size": len(gallery),
        "seconds": round(analysis.seconds, 3),
    }
    truth: dict[str, list[np.ndarray]] = {}
    for xml_name in ("training.xml", "testing.xml"):
        root = ET.parse(groups / "voc_boxes" / xml_name).getroot()
        for image in root.iter("image"):
            boxes = truth.setdefault(Path(image.get("file", "")).name, [])
            for box in image.iter("box"):
                t, left = float(box.get("top", 0)), float(box.get("left", 0))
                w, h = float(box.get("width", 0)), float(box.get("height", 0))
                boxes.append(np.array([left, t, left + w, t + h]))
    found = total = false = 0
    for name, boxes in sorted(truth.items()):
        path = groups / "voc_boxes" / name
        if not path.is_file():
            continue
        analysis = engine.analyze(path.read_bytes(), name)
        dets = [np.asarray(f.box) for f in analysis.faces]
        used: set[int] = set()
        for truth_box in boxes:
            total += 1
            scores = [(iou(truth_box, d), j) for j, d in enumerate(dets) if j not in used]
            if scores and max(scores)[0] >= 0.4:
                found += 1
                used.add(max(scores)[1])
        false += len(dets) - len(used)
    out["voc_boxes"] = {"faces": total, "found": found, "recall": found / max(total, 1), "unmatched_detections": false}
    return out
