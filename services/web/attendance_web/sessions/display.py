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
        # Decode at 1/2, 1/4 or 1/8 scale: several times faster, and a quarter of the memory or less. draft() takes
        # the largest scale at which BOTH sides stay at or above the size asked for, so ask for the picture's own
        # shape (a 4000x3000 photo: 2000x1500), not a 2000x2000 square, which no scale of it reaches.
        width, height = source.size
        fit = max_side / max(width, height)
        if fit < 1:
            source.draft("RGB", (max(1, int(width * fit)), max(1, int(height * fit))))
        img = (ImageOps.exif_transpose(source) or source).convert("RGB")
    else:  # PNG, WebP, HEIC: the shared decoder handles alpha, 16-bit and orientation
        img = decode_oriented_rgb(data, max_pixels=max_pixels)
    img.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=82)
    return out.getvalue()
