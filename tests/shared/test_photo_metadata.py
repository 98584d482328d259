"""What a stored photo keeps of its file: the picture, upright, and nothing about where or with what it was taken."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attendance_shared.images import decode_oriented_rgb
from attendance_shared.photo_metadata import without_metadata

GPS, MAKE, MODEL, ORIENTATION, DATETIME = 0x8825, 0x010F, 0x0110, 0x0112, 0x0132


def phone_photo(fmt: str = "JPEG", orientation: int = 6, size: tuple[int, int] = (400, 300)) -> bytes:
    """A phone's photo: stored sideways (EXIF orientation), with the school's GPS position, the device and the time;
    a blue mark in its stored top-left corner shows where that corner ends up."""
    img = Image.new("RGB", size, (200, 120, 60))
    img.paste((0, 0, 255), (0, 0, 60, 40))
    exif = Image.Exif()
    exif[ORIENTATION], exif[MAKE], exif[MODEL], exif[DATETIME] = orientation, "Apple", "iPhone 15", "2026:12:07 08:55"
    exif[GPS] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}
    kw = {"comment": b"Room 12"} if fmt == "JPEG" else {}
    buf = io.BytesIO()
    img.save(buf, fmt, exif=exif.tobytes(), **kw)
    return buf.getvalue()


def carries_nothing(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert dict(img.getexif()) == {}
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop"} & set(img.info)
    assert all(tag not in data for tag in (b"Exif\x00\x00", b"Apple", b"iPhone", b"Room 12"))
    return img


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_a_sideways_phone_photo_is_stored_upright_without_its_metadata(fmt, mime):
    data = phone_photo(fmt)
    assert Image.open(io.BytesIO(data)).getexif()[MAKE] == "Apple"
    stored, info = without_metadata(data, f"room.{fmt.lower()}")
    img = carries_nothing(stored)
    assert img.format == fmt and info.mime == mime  # a PNG stays a PNG (lossless)
    assert img.size == (info.width, info.height) == (300, 400)  # turned as the phone meant it
    # the pixels are those the worker saw before: the same picture, turned once (not twice)
    seen = np.asarray(decode_oriented_rgb(data), dtype=np.int16)
    assert np.abs(np.asarray(img.convert("RGB"), dtype=np.int16) - seen).mean() < 2.0
    assert tuple(img.convert("RGB").getpixel((299, 0)))[2] > 200  # the blue mark is now top-right


def test_an_upright_jpeg_loses_its_metadata_but_not_a_bit_of_its_picture():
    data = phone_photo(orientation=1)
    stored, info = without_metadata(data, "room.jpg")
    carries_nothing(stored)
    assert (info.width, info.height) == (400, 300)
    scan = data.index(b"\xff\xda")  # from the start of scan on: the same bytes, not encoded again
    assert stored[stored.index(b"\xff\xda") :] == data[scan:]


def test_a_photo_with_nothing_to_strip_is_kept_byte_for_byte():
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(buf, "JPEG", quality=90)
    assert without_metadata(buf.getvalue(), "plain.jpg")[0] == buf.getvalue()


def test_the_annotated_image_carries_no_metadata():
    annotate = pytest.importorskip("attendance_worker.engine.annotate")
    image = np.asarray(decode_oriented_rgb(phone_photo()))
    carries_nothing(annotate.annotate(image, [], [], {}))


def test_an_iphone_heic_becomes_a_jpeg_without_its_metadata_and_a_bare_one_is_kept():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    with_exif, bare = phone_photo("HEIF"), io.BytesIO()
    Image.new("RGB", (64, 48), (1, 2, 3)).save(bare, "HEIF")
    stored, info = without_metadata(with_exif, "IMG_0001.heic")
    assert carries_nothing(stored).format == "JPEG" and info.mime == "image/jpeg" and info.extension == ".jpg"
    assert without_metadata(bare.getvalue(), "bare.heic") == (
        bare.getvalue(),
        info.__class__("HEIF", "image/heic", 64, 48),
    )
