"""A browser-friendly copy of a classroom photo: upright (EXIF applied), JPEG, at most 2000 px.

The review page draws face boxes over it, so it must have the orientation the boxes were measured
in. It is made on request and never stored: a stored copy would outlive the retention period.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from attendance_shared.images import decode_oriented_rgb

DISPLAY_MAX_SIDE = 2000


def display_jpeg(data: bytes, max_pixels: int, max_side: int = DISPLAY_MAX_SIDE) -> bytes:
    source = Image.open(io.BytesIO(data))
    img: Image.Image
    if source.format == "JPEG":
        source.draft("RGB", (max_side, max_side))  # decode at 1/2, 1/4 or 1/8 scale: several times faster
        img = (ImageOps.exif_transpose(source) or source).convert("RGB")
    else:  # PNG, WebP, HEIC: the shared decoder handles alpha, 16-bit and orientation
        img = decode_oriented_rgb(data, max_pixels=max_pixels)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=82)
    return out.getvalue()
