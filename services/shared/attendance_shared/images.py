"""Image checks decided by content, never by file name, with messages a teacher understands.

The web calls `inspect_image` before it stores anything; the worker calls `decode_oriented_rgb`
to get pixels the way the photo is meant to be seen (EXIF orientation applied).
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError

try:  # HEIC/HEIF from iPhones.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - the dependency is declared; keep PIL usable without it
    pass

ACCEPTED_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "HEIF": "image/heic",
}
ACCEPTED_WORDS = "JPEG, PNG, WebP or HEIC"
DEFAULT_MAX_PIXELS = 60_000_000


# In entropy-coded data 0xFF is followed by 0x00 (stuffing), RST0-7 or more 0xFF (fill): anything else is a marker.
_MARKER_AFTER_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field
_MAX_MARKERS = 1000  # a photo has tens; a crafted file with millions must not cost a Python loop each


def jpeg_reaches_eoi(data: bytes) -> bool:
    """True when the main image's segments (each within the file) and scans run on to its EOI marker.

    A structural proof that a JPEG is complete without decoding it (0.65 ms for a 12 MP photo, against
    13.5 ms for a 1/8-scale decode): segments are skipped by their lengths, so an EXIF thumbnail's own EOI
    inside APP1 counts for nothing, and whatever follows the main image's EOI (Samsung trailers, an MPO's
    second image) is not looked at. False means "not proved", not "broken": the caller then decodes.
    """
    n = len(data)
    if data[:2] != b"\xff\xd8":
        return False
    pos, scans = 2, 0
    for _ in range(_MAX_MARKERS):
        if pos >= n or data[pos] != 0xFF:
            return False
        while pos < n and data[pos] == 0xFF:  # fill bytes may precede a marker
            pos += 1
        if pos >= n:
            return False
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            return scans > 0
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0x00, 0xD8) or pos + 2 > n:
            return False
        end = pos + int.from_bytes(data[pos : pos + 2], "big")
        if end < pos + 2 or end > n:
            return False
        if marker == 0xDA:  # SOS: entropy-coded data runs to the next marker (progressive files have several)
            scans += 1
            found = _MARKER_AFTER_SCAN.search(data, end)
            if found is None:
                return False
            pos = found.start()
        else:
            pos = end
    return False


def unreadable(filename: str) -> str:
    return f"{filename} is not a photo we can read. Please upload a {ACCEPTED_WORDS} image."


def incomplete(filename: str) -> str:
    return f"{filename} is incomplete (the file was cut off, perhaps during upload). Please upload it again."


def never_arrived(filename: str) -> str:
    """A photo the browser was to upload straight to the store that is not there (attendance_web.direct_uploads)."""
    return (
        f"{filename} never reached the photo store (its upload did not finish), so nothing of it was saved. "
        "Please choose it again."
    )


class ImageRejected(ValueError):
    """The upload is not a photo we can use; `str(exc)` is the sentence shown to the teacher."""


@dataclass(frozen=True)
class ImageInfo:
    format: str
    mime: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}[self.mime]


def megapixels(pixels: int, *, round_up: bool = False) -> str:
    """Pixels in megapixels for a sentence: one decimal at most. A photo's size is rounded up, so a photo just over
    the limit never reads as the limit itself ("60.1 MP. The limit is 60 MP", not "60 MP. The limit is 60 MP")."""
    tenths = -(-pixels // 100_000) if round_up else pixels // 100_000
    return f"{tenths // 10}.{tenths % 10}".removesuffix(".0")


def _open(data: bytes, filename: str, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageRejected(f"{filename} is empty (0 bytes). Please choose the photo again.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(
            f"{filename} is too large: its dimensions exceed the limit of {megapixels(max_pixels)} MP. "
            "Please upload a smaller photo."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected(unreadable(filename)) from None
    if img.format not in ACCEPTED_FORMATS:
        kind = img.format or "this kind of file"
        raise ImageRejected(f"{filename} is a {kind} file. Please upload a {ACCEPTED_WORDS} photo instead.")
    width, height = img.size
    if width * height > max_pixels:
        raise ImageRejected(
            f"{filename} is too large: {width}x{height} pixels ({megapixels(width * height, round_up=True)} MP). "
            f"The limit is {megapixels(max_pixels)} MP; please upload a smaller photo."
        )
    return img


def inspect_image(data: bytes, filename: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Check that `data` is a complete photo of an accepted type; cheap enough for a web request."""
    img = _open(data, filename, max_pixels)
    fmt = img.format or ""
    width, height = img.size
    n_frames = getattr(img, "n_frames", 1)
    if fmt in ("JPEG", "MPO") and not jpeg_reaches_eoi(data):
        # Not proved complete (a cut-off file, or stray bytes before a marker, which libjpeg tolerates): the
        # 1/8-scale decode (JPEG DCT scaling, 13.5 ms for 12 MP) reads every byte of the image data and
        # decides, as this check always did, so no photo accepted before is refused now.
        try:
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
            img.load()
        except (OSError, SyntaxError, ValueError):
            raise ImageRejected(incomplete(filename)) from None
    if fmt == "PNG":
        try:
            img.verify()
        except Exception:
            raise ImageRejected(f"{filename} is damaged or incomplete. Please upload it again.") from None
    if n_frames > 1 and fmt not in ("MPO", "HEIF"):
        raise ImageRejected(f"{filename} is an animation. Please upload a single still photo.")
    return ImageInfo(format=fmt, mime=ACCEPTED_FORMATS[fmt], width=width, height=height)


def decode_oriented_rgb(data: bytes, filename: str = "photo", *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Decode fully, apply EXIF orientation, and convert any mode (CMYK, 16-bit, alpha, grey) to RGB."""
    img = _open(data, filename, max_pixels)
    try:
        img.load()
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected(f"{filename} is damaged or incomplete. Please upload it again.") from None
    # In place: without an orientation tag exif_transpose would return a full copy (12 MP: 48 MB more at the
    # worker's peak, ~10 ms); with one, the same pixels either way.
    ImageOps.exif_transpose(img, in_place=True)
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: scale to 8 bits rather than clipping everything to white.
        import numpy as np

        arr = np.asarray(img, dtype=np.float32)
        top = float(arr.max()) or 1.0
        scale = 255.0 / (65535.0 if top > 255 else 255.0)
        return Image.fromarray(np.clip(arr * scale, 0, 255).astype("uint8")).convert("RGB")
    return img.convert("RGB")


def box_iou(a: Any, b: Any) -> float:
    """Intersection over union of two x1, y1, x2, y2 boxes (lists or arrays)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
