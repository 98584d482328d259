"""Reading uploaded photos: type decided by content, a sentence for every rejection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

from werkzeug.datastructures import FileStorage

from attendance_shared.images import ImageInfo, ImageRejected, inspect_image

from .extensions import settings


@dataclass(frozen=True)
class CheckedUpload:
    filename: str
    data: bytes
    info: ImageInfo

    @cached_property
    def sha256(self) -> str:
        """Computed once: store_photos reads it three times per photo (~1 ms per MB each)."""
        return hashlib.sha256(self.data).hexdigest()


def display_name(upload: FileStorage) -> str:
    """The file name for messages only (never used as a storage path)."""
    name = (upload.filename or "photo").replace("\\", "/").rsplit("/", 1)[-1]
    return name[:120] or "photo"


def check_uploads(files: list[FileStorage]) -> tuple[list[CheckedUpload], list[str]]:
    """Split uploads into usable photos and one clear message per refused file."""
    good: list[CheckedUpload] = []
    errors: list[str] = []
    max_pixels = settings().max_image_pixels
    for upload in files:
        if not upload or not upload.filename:
            continue
        name = display_name(upload)
        data = upload.read()
        try:
            info = inspect_image(data, name, max_pixels=max_pixels)
        except ImageRejected as exc:
            errors.append(str(exc))
            continue
        good.append(CheckedUpload(filename=name, data=data, info=info))
    return good, errors
