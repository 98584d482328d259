"""The review page's copy of a classroom photo (sessions/display.py): a landscape 12 MP JPEG is decoded at half size,
not whole (the whole picture took ~110 MB of the web's memory per view, and the single instance's web has 256 MiB)."""

from __future__ import annotations

import io

from PIL import Image, JpegImagePlugin

from attendance_web.sessions.display import DISPLAY_MAX_SIDE, display_jpeg


def _jpeg(size: tuple[int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 130, 140)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def test_a_12_mp_photo_is_decoded_at_half_size(monkeypatch) -> None:
    decoded: list[tuple[int, int]] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):  # type: ignore[no-untyped-def]
        result = draft(self, mode, size)
        decoded.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    for size, expected in (((4000, 3000), (2000, 1500)), ((3000, 4000), (1500, 2000))):
        out = Image.open(io.BytesIO(display_jpeg(_jpeg(size), 50_000_000)))
        assert decoded[-1] == expected
        assert max(out.size) == DISPLAY_MAX_SIDE
    small = Image.open(io.BytesIO(display_jpeg(_jpeg((1600, 1200)), 50_000_000)))
    assert small.size == (1600, 1200)  # smaller than the display size: left as it is
