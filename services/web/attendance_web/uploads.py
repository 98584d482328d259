"""Reading uploaded photos: type decided by content, a sentence for every rejection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from attendance_shared.images import ImageInfo, ImageRejected, inspect_image
from attendance_shared.photo_metadata import without_metadata

from .extensions import settings


@dataclass(frozen=True)
class CheckedUpload:
    """A photo as it is stored: `data` upright and without its metadata (attendance_shared.photo_metadata), `info`
    about those bytes; `sha256` is of the bytes the teacher chose, so choosing the same file again is a duplicate."""

    filename: str
    data: bytes
    info: ImageInfo
    sha256: str


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
            inspect_image(data, name, max_pixels=max_pixels)
            stored, info = without_metadata(data, name, max_pixels=max_pixels)
        except ImageRejected as exc:
            errors.append(str(exc))
            continue
        good.append(CheckedUpload(filename=name, data=stored, info=info, sha256=hashlib.sha256(data).hexdigest()))
    return good, errors
