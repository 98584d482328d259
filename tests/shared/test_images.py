"""Uploads are judged by content, never by name, and every refusal is a sentence a teacher understands."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from attendance_shared.images import ImageRejected, decode_oriented_rgb, inspect_image


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def test_accepts_common_formats():
    img = Image.new("RGB", (40, 30), (10, 20, 30))
    for fmt, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
        info = inspect_image(_save(img, fmt), f"a.{fmt.lower()}")
        assert (info.mime, info.width, info.height) == (mime, 40, 30)


def test_heic_is_accepted():
    pillow_heif = pytest.importorskip("pillow_heif")
    data = (
        _save(Image.new("RGB", (64, 48), (200, 10, 10)), "HEIF")
        if hasattr(pillow_heif, "register_heif_opener")
        else b""
    )
    info = inspect_image(data, "iphone.heic")
    assert info.mime == "image/heic"
    assert decode_oriented_rgb(data).size == (64, 48)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "is empty"),
        (b"hello, this is text", "not a photo"),
        (b"%PDF-1.4 fake", "not a photo"),
    ],
)
def test_rejections_in_words(data, words):
    with pytest.raises(ImageRejected, match=words) as info:
        inspect_image(data, "upload.jpg")
    assert "upload.jpg" in str(info.value)


def test_truncated_jpeg():
    data = _save(Image.effect_noise((200, 200), 50).convert("RGB"), "JPEG")
    with pytest.raises(ImageRejected, match="incomplete"):
        inspect_image(data[: len(data) // 2], "cut.jpg")


def test_decompression_bomb_is_refused_from_the_header():
    # A tiny PNG whose header claims 30000 x 30000 pixels.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    )
    with pytest.raises(ImageRejected, match="too large"):
        inspect_image(data, "bomb.png")


def test_gif_and_animation_are_refused():
    frames = [Image.new("P", (10, 10), i) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ImageRejected, match="GIF"):
        inspect_image(buf.getvalue(), "anim.gif")


def test_decode_converts_modes_and_orientation():
    rgba = Image.new("RGBA", (20, 10), (255, 0, 0, 0))
    assert decode_oriented_rgb(_save(rgba, "PNG")).mode == "RGB"
    cmyk = Image.new("CMYK", (20, 10), (0, 255, 0, 0))
    assert decode_oriented_rgb(_save(cmyk, "JPEG")).mode == "RGB"
    grey16 = Image.fromarray(np.full((10, 20), 40000, dtype=np.uint16))
    out = decode_oriented_rgb(_save(grey16, "PNG"))
    assert out.mode == "RGB" and 100 < np.asarray(out)[0, 0, 0] < 255
    img = Image.new("RGB", (40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: stored landscape, shown portrait
    assert decode_oriented_rgb(_save(img, "JPEG", exif=exif)).size == (20, 40)


def test_jpeg_with_a_trailer_after_the_image_is_accepted():
    """Some phones append data after the JPEG end marker; that is not a cut-off file."""
    data = _save(Image.effect_noise((300, 200), 40).convert("RGB"), "JPEG") + b"SEFH" + b"\x00trailer" * 200
    assert inspect_image(data, "samsung.jpg").width == 300


# How a camera stores a picture for each EXIF orientation: the inverse of what the viewer applies.
_STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_shown_upright(orientation):
    upright = Image.new("RGB", (60, 40), (0, 0, 255))
    upright.paste((255, 0, 0), (0, 0, 20, 10))  # a red mark at the top left
    method = _STORED_AS[orientation]
    stored = upright if method is None else upright.transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = np.asarray(decode_oriented_rgb(_save(stored, "PNG", exif=exif)))
    assert out.shape[:2] == (40, 60)
    assert out[2, 2, 0] > 200 and out[2, 2, 2] < 60  # red mark back at the top left
    assert out[-2, -2, 2] > 200  # blue elsewhere


def test_sixty_megapixels_is_accepted_and_one_more_pixel_is_not():
    big = Image.new("RGB", (10000, 6000), (90, 120, 150))
    data = _save(big, "JPEG", quality=70)
    assert inspect_image(data, "big.jpg").width == 10000
    with pytest.raises(ImageRejected, match="too large: 10000x6000"):
        inspect_image(data, "big.jpg", max_pixels=60_000_000 - 1)
