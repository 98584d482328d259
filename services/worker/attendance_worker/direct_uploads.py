"""A photo the browser uploaded straight to S3, the worker's half: checked by content, then moved to its key.

(The web's half, sign and register, is attendance_web.direct_uploads.) The web never saw these bytes, so the worker
checks them here exactly as the web checks a posted photo (attendance_shared.images.inspect_image: the same
refusals, in the same words), and that they are the bytes the browser announced (SHA-256). A good photo is written
upright and without its EXIF (GPS position, device: attendance_shared.photo_metadata, as the web stores a posted one)
under its final key (student_photos/ or classroom_photos/), the row pointed at it and committed, and only then the
temp object deleted: a worker that dies half-way leaves either the temp object (the job runs again, the final key
is the same) or an extra temp object that the bucket's lifecycle rule expires. A refused one is deleted and the
row keeps no key to it: nothing stays half-stored.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from attendance_shared.images import ImageInfo, ImageRejected, incomplete, inspect_image, never_arrived
from attendance_shared.models import SessionPhoto, StudentPhoto
from attendance_shared.photo_metadata import without_metadata
from attendance_shared.settings import get_settings
from attendance_shared.storage import (
    CLASSROOM_PREFIX,
    STUDENT_PREFIX,
    PhotoMissing,
    PhotoStore,
    is_direct_upload,
)


def _checked(store: PhotoStore, key: str, filename: str, sha256: str | None) -> tuple[bytes, ImageInfo]:
    """The object's bytes and what they are; ImageRejected (the object deleted) when they are not a usable photo."""
    try:
        data = store.get(key)
    except PhotoMissing:
        raise ImageRejected(never_arrived(filename)) from None
    try:
        info = inspect_image(data, filename, max_pixels=get_settings().max_image_pixels)
        if sha256 and hashlib.sha256(data).hexdigest() != sha256:
            raise ImageRejected(incomplete(filename))  # not the bytes the browser announced: cut off or changed
    except ImageRejected:
        store.delete(key)
        raise
    return data, info


def _stored(data: bytes, filename: str) -> tuple[bytes, ImageInfo]:
    """What is stored under the final key: upright and without its EXIF (GPS position, device), as a photo posted to
    the web is (attendance_shared.photo_metadata). content_sha256 stays the hash of the bytes the browser sent."""
    return without_metadata(data, filename, max_pixels=get_settings().max_image_pixels)


def _final_key(prefix: str, teacher_id: int, owner_id: int, temp_key: str, info: ImageInfo) -> str:
    """The same for every delivery of the job (the temp key's random name), so a second copy overwrites the first."""
    return f"{prefix}/{teacher_id}/{owner_id}/{temp_key.rsplit('/', 1)[-1]}{info.extension}"


def adopt_session_photo(session: Session, store: PhotoStore, photo: SessionPhoto) -> bytes:
    """The photo's bytes, once checked and moved under classroom_photos/ (the row updated and committed). A refused
    photo loses its key (the object deleted, committed) and ImageRejected is raised with the teacher's sentence."""
    temp = photo.storage_key
    assert temp is not None and is_direct_upload(temp)
    try:
        data, info = _checked(store, temp, photo.original_filename, photo.content_sha256)
    except ImageRejected:
        photo.storage_key = None
        session.commit()
        raise
    data, info = _stored(data, photo.original_filename)
    final = _final_key(CLASSROOM_PREFIX, photo.session.course.teacher_id, photo.session_id, temp, info)
    store.put(final, data, info.mime)
    photo.storage_key = final
    photo.content_type, photo.width, photo.height = info.mime, info.width, info.height
    session.commit()
    store.delete(temp)
    return data


def adopt_portrait(session: Session, store: PhotoStore, photo: StudentPhoto) -> bytes:
    """As adopt_session_photo, under student_photos/. A refused portrait keeps its row (so the same bytes are not
    added again) and its temp key, whose object is deleted."""
    temp = photo.storage_key
    assert is_direct_upload(temp)
    data, info = _checked(store, temp, photo.original_filename, photo.content_sha256)
    data, info = _stored(data, photo.original_filename)
    final = _final_key(STUDENT_PREFIX, photo.student.teacher_id, photo.student_id, temp, info)
    store.put(final, data, info.mime)
    photo.storage_key = final
    photo.content_type, photo.width, photo.height = info.mime, info.width, info.height
    session.commit()
    store.delete(temp)
    return data
