"""Small pictures of the portraits a roster preview will add, so the teacher sees who is who before confirming.

Made on request from the ZIP the preview already stores under temp/ (never extracted, never stored again), and
always re-encoded: what reaches the browser is a JPEG we wrote, not bytes from the ZIP. An entry is named by its
offset in the ZIP, among the entries the import would read as photos: a crafted ZIP may repeat a name.
"""

from __future__ import annotations

from PIL import Image

from attendance_shared.images import ImageRejected, inspect_image

from ..sessions.display import display_jpeg
from .plan import PlannedPhoto, open_photos
from .problems import ImportRefused
from .zip_photos import EntryUnreadable, list_zip, read_entry

THUMBNAIL_PX = 160  # shown at 64 CSS px: sharp on a phone's 2x-3x screen


class NoSuchPortrait(LookupError):
    """No photo entry at that place in this import's ZIP, or one that cannot be read."""


def thumbnail_key(photo: PlannedPhoto) -> int:
    """What names a planned portrait in its thumbnail's address: its offset plus one (an id in a URL is never 0,
    attendance_web.ids, and the first entry's offset is)."""
    return photo.entry.info.header_offset + 1


def portrait_thumbnail(zip_data: bytes | None, key: int, max_pixels: int) -> bytes:
    """The JPEG thumbnail of the photo entry `key` (thumbnail_key) of the ZIP; raises NoSuchPortrait."""
    try:
        archive = open_photos(zip_data)
        if archive is None:
            raise NoSuchPortrait(key)
        entry = next((e for e in list_zip(archive).photos if e.info.header_offset + 1 == key), None)
        if entry is None:
            raise NoSuchPortrait(key)
        data = read_entry(archive, entry)
        inspect_image(data, entry.basename, max_pixels=max_pixels)
        return display_jpeg(data, max_pixels, max_side=THUMBNAIL_PX)
    except (ImportRefused, EntryUnreadable, ImageRejected, OSError, Image.DecompressionBombError) as exc:
        raise NoSuchPortrait(key) from exc
