"""The annotated copy of a classroom photo: a box and a name per face, colour by decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

# RGB colours, the review page's own (review.css --face-matched, --face-confirm, --face-unknown; a test keeps them
# equal): distinct from each other, and dark enough that the white names drawn on them read at 4.5:1 or more.
COLOURS = {"present": (0x17, 0x7A, 0x34), "confirm": (0xA8, 0x54, 0x00), "unknown": (0xD0, 0x24, 0x1B)}


def annotate(
    image_rgb: np.ndarray,
    faces: Sequence[Any],
    decisions: Sequence[Any],
    labels: Mapping[str, str],
    *,
    max_side: int = 2400,
    quality: int = 85,
) -> bytes:
    """JPEG bytes of the photo (downscaled to `max_side`) with boxes and names."""
    h, w = image_rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    img = (
        image_rgb
        if scale == 1.0
        else cv2.resize(image_rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    )
    img = np.ascontiguousarray(img[..., ::-1])  # draw in BGR for cv2
    thick = max(1, round(max(img.shape[:2]) / 800))
    font_scale = max(0.4, max(img.shape[:2]) / 2400)
    for face, dec in zip(faces, decisions, strict=True):
        x1, y1, x2, y2 = (round(v * scale) for v in face.box)
        r, g, b = COLOURS.get(dec.decision, COLOURS["unknown"])
        colour = (b, g, r)
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick)
        if dec.decision == "present" and dec.person is not None:
            text = labels.get(dec.person, dec.person)
        elif dec.decision == "confirm" and dec.candidate is not None:
            text = f"{labels.get(dec.candidate, dec.candidate)}?"
        else:
            text = "?"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thick)
        ty = y1 - 4 if y1 - th - base - 4 > 0 else y2 + th + 4
        cv2.rectangle(img, (x1, ty - th - base), (x1 + tw + 4, ty + base), colour, -1)
        cv2.putText(img, text, (x1 + 2, ty), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), thick, cv2.LINE_AA)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - cv2 only fails on empty images
        raise RuntimeError("could not encode the annotated image")
    return buf.tobytes()
