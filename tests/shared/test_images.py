"""Uploads are judged by content, never by name, and every refusal is a sentence a teacher understands."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from attendance_shared.images import (
    ImageRejected,
    decode_oriented_rgb,
    inspect_image,
    jpeg_reaches_eoi,
    megapixels,
)


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


def test_a_photo_over_the_limit_never_reads_as_the_limit():
    """9000x6700 is 60.3 MP: it said "(60 MP). The limit is 60 MP", which contradicts the refusal."""
    data = _save(Image.new("RGB", (9000, 6700), (90, 120, 150)), "JPEG", quality=50)
    with pytest.raises(ImageRejected, match=r"9000x6700 pixels \(60\.3 MP\)\. The limit is 60 MP;"):
        inspect_image(data, "wide.jpg")
    assert megapixels(60_000_001, round_up=True) == "60.1" and megapixels(60_000_000) == "60"
    assert megapixels(12_345_678) == "12.3" and megapixels(500_000, round_up=True) == "0.5"


# The web proves a JPEG complete from its structure (segments by length, scans up to the main image's EOI)
# and only decodes when it cannot; a cut-off file is refused with the same sentence either way.

INCOMPLETE = "is incomplete \\(the file was cut off, perhaps during upload\\)"


def _photo(progressive: bool = False, size=(320, 240), **kw) -> bytes:
    return _save(Image.effect_noise(size, 60).convert("RGB"), "JPEG", progressive=progressive, quality=90, **kw)


def _with_exif_thumbnail(main: bytes) -> bytes:
    """main with an APP1 EXIF segment that holds a complete thumbnail JPEG (its own SOI ... EOI)."""
    thumb = _save(Image.new("RGB", (40, 30), (200, 30, 30)), "JPEG")
    body = b"Exif\x00\x00" + b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x00\x00\x00\x00\x00" + thumb
    app1 = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    assert thumb.endswith(b"\xff\xd9")
    return main[:2] + app1 + main[2:]


def _cut_points(data: bytes) -> list[int]:
    sos = data.index(b"\xff\xda")
    return [3, 20, sos - 5, sos + 4, sos + 20, len(data) // 2, len(data) - 100, len(data) - 3]


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_complete_jpegs_are_proved_complete_without_decoding(progressive, monkeypatch):
    data = _photo(progressive)
    assert jpeg_reaches_eoi(data)
    # The structural proof is enough: the 1/8-scale decode is not reached.
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    assert inspect_image(data, "ok.jpg").width == 320


def test_progressive_jpeg_has_several_scans():
    assert _photo(progressive=True).count(b"\xff\xda") > 1


@pytest.mark.parametrize("progressive", [False, True], ids=["baseline", "progressive"])
def test_jpeg_cut_anywhere_is_refused_in_words(progressive):
    data = _photo(progressive)
    for cut in _cut_points(data):
        assert not jpeg_reaches_eoi(data[:cut]), cut
        with pytest.raises(ImageRejected, match="cut.jpg (" + INCOMPLETE + "|is not a photo we can read)"):
            inspect_image(data[:cut], "cut.jpg")
    # Cut inside the image data (after the header Pillow reads): always the "incomplete" sentence.
    for cut in _cut_points(data)[4:]:
        with pytest.raises(ImageRejected, match=INCOMPLETE):
            inspect_image(data[:cut], "cut.jpg")


def test_a_thumbnail_eoi_inside_exif_does_not_make_a_cut_file_complete():
    data = _with_exif_thumbnail(_photo())
    assert jpeg_reaches_eoi(data)
    assert inspect_image(data, "thumb.jpg").width == 320
    cut = data[: len(data) - 500]
    assert b"\xff\xd9" in cut  # the thumbnail's EOI is still there
    assert not jpeg_reaches_eoi(cut)
    with pytest.raises(ImageRejected, match=INCOMPLETE):
        inspect_image(cut, "thumb.jpg")


@pytest.mark.parametrize(
    "trailer",
    [b"SEFH" + b"\x00trailer" * 200, b"\xff\xd8\xff\xe0 second image, cut", b"\xff\xff\x00\x00", b"\xff"],
    ids=["samsung", "second-image", "ff-bytes", "one-ff"],
)
def test_anything_after_the_main_image_eoi_is_accepted(trailer, monkeypatch):
    data = _photo() + trailer
    assert jpeg_reaches_eoi(data)
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    assert inspect_image(data, "phone.jpg").height == 240


def test_restart_markers_and_fill_bytes_are_understood():
    data = _save(Image.effect_noise((320, 240), 60).convert("RGB"), "JPEG", restart_marker_blocks=1)
    assert any(bytes([0xFF, m]) in data for m in range(0xD0, 0xD8))
    assert jpeg_reaches_eoi(data)
    assert jpeg_reaches_eoi(data[:-2] + b"\xff\xff\xff\xd9")  # fill bytes before EOI


def test_a_segment_length_past_the_end_is_not_complete():
    data = _photo()
    assert not jpeg_reaches_eoi(data[:2] + b"\xff\xe1\xff\xff" + data[2:60])
    assert not jpeg_reaches_eoi(b"\xff\xd8\xff\xd9")  # no scan at all
    assert not jpeg_reaches_eoi(b"\x89PNG\r\n\x1a\n")


def test_what_the_structure_cannot_prove_the_decode_decides_as_before():
    """Stray bytes before a marker (some cameras) break the structural walk, but the image decodes: accepted.
    Without its EOI a file does not decode either: refused as incomplete, as the decode alone always did."""
    data = _photo()
    sos = data.index(b"\xff\xda")
    stray = data[:sos] + b"\x00\x00" + data[sos:]
    assert not jpeg_reaches_eoi(stray)
    assert inspect_image(stray, "camera.jpg").width == 320
    with pytest.raises(ImageRejected, match=INCOMPLETE):
        inspect_image(data[:-2], "no-eoi.jpg")


def test_mpo_with_its_second_image_cut_is_accepted_from_the_first(monkeypatch):
    """A 3D/multi-frame phone photo: the web needs the first (main) image; the second is not looked at."""
    frames = [Image.effect_noise((64, 48), 60).convert("RGB") for _ in range(2)]
    buf = io.BytesIO()
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    data = buf.getvalue()
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("decoded"))
    info = inspect_image(data[: len(data) - 100], "3d.jpg")
    assert (info.format, info.mime, info.width) == ("MPO", "image/jpeg", 64)


def test_a_file_of_many_tiny_segments_is_left_to_the_decode():
    data = _photo()
    padded = data[:2] + b"\xff\xfe\x00\x02" * 5000 + data[2:]  # 5000 empty COM segments
    assert not jpeg_reaches_eoi(padded)
    assert inspect_image(padded, "comments.jpg").width == 320
