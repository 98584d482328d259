"""Faces a photo shows too small or too unclear to recognise, and the closer photo to ask for.

The worker flags each face it could not name for that reason (DetectedFace.legibility); the review page outlines
the area they are in and says how many, where, and what to do: take a closer photo of that area and add it to
this session, where it is merged with the others as any added photo is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from attendance_shared.models import DetectedFace, FaceLegibility

UNDECIDED = ("confirm", "unknown")  # the face's kind on the review page: one named or rejected needs no closer photo
MARGIN = 0.25  # of the area's larger side, around the faces' boxes


class _Face(Protocol):
    face: DetectedFace

    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class RetakeArea:
    """Where the unclear faces of one photo are (x, y, width, height in the photo's pixels), and how many."""

    x: float
    y: float
    width: float
    height: float
    count: int
    too_small: bool  # every one of them is too small (else some are blurred or barely visible)
    where: str  # "at the back", "at the front on the left", ...

    @property
    def sentence(self) -> str:
        faces = "1 face" if self.count == 1 else f"{self.count} faces"
        verb = "is" if self.count == 1 else "are"
        what = "too small" if self.too_small else "too small or unclear to recognise"
        return f"{faces} {self.where} {verb} {what} in this photo."


def _where(cx: float, cy: float, width: float, height: float) -> str:
    """The area's place in words, as a teacher standing at the front sees the class."""
    row = "at the back" if cy < height * 0.4 else "at the front" if cy > height * 0.65 else "in the middle"
    side = " on the left" if cx < width / 3 else " on the right" if cx > width * 2 / 3 else ""
    return row + side


def retake_area(faces: Iterable[_Face], width: int | None, height: int | None) -> RetakeArea | None:
    """The area around the faces still undecided because this photo is too small or too unclear for them."""
    unclear = [fv.face for fv in faces if fv.kind in UNDECIDED and fv.face.legibility is not None]
    if not unclear or not width or not height:
        return None
    boxes = [[float(v) for v in f.box] for f in unclear]
    x1, y1 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x2, y2 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    pad = max(x2 - x1, y2 - y1, 1.0) * MARGIN
    x1, y1, x2, y2 = max(0.0, x1 - pad), max(0.0, y1 - pad), min(float(width), x2 + pad), min(float(height), y2 + pad)
    return RetakeArea(
        x=round(x1, 1),
        y=round(y1, 1),
        width=round(x2 - x1, 1),
        height=round(y2 - y1, 1),
        count=len(unclear),
        too_small=all(f.legibility == FaceLegibility.TOO_SMALL for f in unclear),
        where=_where((x1 + x2) / 2, (y1 + y2) / 2, width, height),
    )
