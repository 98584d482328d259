"""Stored photos carry nothing about where, when or with what they were taken.

A phone photo's EXIF holds the school's GPS position, the device and the time; XMP, IPTC, comments and PNG text can
hold more. Every portrait and classroom photo is stored as `without_metadata` writes it (attendance_web.uploads,
roster imports): upright, its EXIF orientation applied to the pixels first, and with none of that. The annotated
images the worker draws are encoded from pixels and carry none either. Duplicates are still found by the hash of
the bytes the teacher chose (content_sha256), so the same file chosen twice is the same photo.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageOps

from .images import ACCEPTED_FORMATS, DEFAULT_MAX_PIXELS, ImageInfo, ImageRejected, _open

#: what a stored photo may keep from its file: how to show it (colour profile, density, transparency), nothing about
#: where, when or with what it was taken (EXIF: GPS position, device, time; XMP; IPTC; comments; PNG text)
_HARMLESS_INFO = frozenset(
    {
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "dpi",
        "icc_profile",
        "progressive",
        "progression",
        "adobe",
        "adobe_transform",
        "gamma",
        "srgb",
        "chromaticity",
        "transparency",
        "aspect",
        "background",
        "loop",
        "duration",
        "timestamp",  # a WebP frame's place in an animation, not when the photo was taken
    }
)
_HARMLESS_JPEG_SEGMENTS = frozenset({b"JFIF", b"ICC_PROFILE", b"Adobe"})  # APP0, APP2, APP14
#: quality of a photo written again without its metadata: visually the same as a phone camera's own JPEG
STRIPPED_JPEG_QUALITY = 95


#: where pillow-heif puts what an iPhone's HEIC says about itself (its info also lists thumbnails, depth maps, ...)
_HEIF_METADATA = ("exif", "xmp", "metadata")


def _carries_metadata(img: Image.Image) -> bool:
    if img.format == "HEIF":
        return any(img.info.get(key) for key in _HEIF_METADATA)
    if set(img.info) - _HARMLESS_INFO:
        return True
    segments = getattr(img, "applist", [])
    return any(not any(body.startswith(tag) for tag in _HARMLESS_JPEG_SEGMENTS) for _marker, body in segments)


_ORIENTATION = 0x0112
_SOS, _COM = 0xDA, 0xFE
_APP0, _APP2, _APP14 = 0xE0, 0xE2, 0xEE
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7


def _jpeg_without_segments(data: bytes) -> bytes | None:
    """The JPEG with its metadata segments left out (APP1 EXIF/XMP, APP13 IPTC, COM, every other APPn but JFIF, ICC
    and Adobe), everything from the start of scan on copied as it is: lossless. None when the header is not laid out
    as expected (then the caller writes the picture again)."""
    if data[:2] != b"\xff\xd8":
        return None
    out, pos = bytearray(data[:2]), 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _NO_LENGTH:
            out += data[pos : pos + 2]
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > len(data):
            return None
        if marker == _SOS:
            return bytes(out + data[pos:])
        body = data[pos + 4 : end]
        metadata = marker == _COM or (0xE0 <= marker <= 0xEF and not _harmless_segment(marker, body))
        if not metadata:
            out += data[pos:end]
        pos = end
    return None


def _harmless_segment(marker: int, body: bytes) -> bool:
    return (
        (marker == _APP0 and body.startswith(b"JFIF"))
        or (marker == _APP2 and body.startswith(b"ICC_PROFILE"))
        or (marker == _APP14 and body.startswith(b"Adobe"))
    )


def without_metadata(data: bytes, filename: str, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, ImageInfo]:
    """The photo as it is stored: upright (its EXIF orientation applied to the pixels) and with nothing about where,
    when or with what it was taken (EXIF with its GPS position and device, XMP, IPTC, comments, PNG text). The colour
    profile is kept. An upright JPEG only loses those segments (its picture bytes are kept as they are); a turned
    one (and an iPhone's MPO or HEIC) is written again as a JPEG at quality 95, a PNG as a lossless PNG, a WebP as a
    WebP. A photo that carries nothing of the kind and is upright (a HEIC without EXIF too) is returned as it came,
    byte for byte.
    Call it on bytes inspect_image accepted; the info is that of the returned bytes."""
    img = _open(data, filename, max_pixels)
    fmt = img.format or ""
    if fmt in ("JPEG", "PNG", "WEBP", "HEIF") and not _carries_metadata(img) and getattr(img, "n_frames", 1) == 1:
        return data, ImageInfo(format=fmt, mime=ACCEPTED_FORMATS[fmt], width=img.width, height=img.height)
    if fmt == "JPEG" and img.getexif().get(_ORIENTATION, 1) == 1:
        kept = _jpeg_without_segments(data)  # upright already: the picture's own bytes, not encoded again
        if kept is not None:
            return kept, ImageInfo(format=fmt, mime=ACCEPTED_FORMATS[fmt], width=img.width, height=img.height)
    icc = img.info.get("icc_profile")
    try:
        img.load()
        upright = ImageOps.exif_transpose(img) or img
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected(f"{filename} is damaged or incomplete. Please upload it again.") from None
    upright.info = {}  # the encoders write some of it back (a JPEG's comment): only what is passed below is written
    out = io.BytesIO()
    extra: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if fmt == "PNG":
        if "transparency" in upright.info and upright.mode in ("P", "L", "RGB"):
            extra["transparency"] = upright.info["transparency"]
        upright.save(out, "PNG", optimize=False, **extra)
        written = "PNG"
    elif fmt == "WEBP":
        lossless = bool(img.info.get("lossless"))
        upright.save(out, "WEBP", quality=100 if lossless else STRIPPED_JPEG_QUALITY, lossless=lossless, **extra)
        written = "WEBP"
    else:  # JPEG, MPO (its first, main picture), HEIF
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, "JPEG", quality=STRIPPED_JPEG_QUALITY, **extra)
        written = "JPEG"
    return out.getvalue(), ImageInfo(
        format=written, mime=ACCEPTED_FORMATS[written], width=upright.width, height=upright.height
    )
