"""Reading a ZIP of portraits without trusting it: nothing is ever extracted to disk.

Sizes and compression ratios declared in the ZIP's directory are checked before a single byte is
inflated (ZIP bombs), each entry is then read in memory with a hard cap (the declaration may lie),
and entry paths are used only for their last part, so `../` or absolute paths can never point
anywhere: they are refused with a message all the same, since such a ZIP was not made by a camera.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .problems import ImportRefused, shorten

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}
MAX_ENTRIES = 3_000
MAX_ENTRY_BYTES = 30 * 1024 * 1024  # one portrait, uncompressed
MAX_TOTAL_BYTES = 400 * 1024 * 1024  # all entries, uncompressed
MAX_RATIO = 100  # photos barely compress (JPEG about 1:1); a 1:1000 entry is a bomb
RATIO_FLOOR_BYTES = 1024 * 1024  # small entries may compress well without harm
_SYSTEM_FILES = {"thumbs.db", "desktop.ini"}
_DRIVE_RE = re.compile(r"^[A-Za-z]:")


class EntryUnreadable(ValueError):
    """One entry cannot be unpacked; `str` is the message."""


@dataclass(frozen=True)
class ZipEntry:
    info: zipfile.ZipInfo  # read by ZipInfo, not by name: a crafted ZIP may repeat a name
    basename: str  # the only part of the path we use: for matching and for messages


@dataclass
class ZipListing:
    photos: list[ZipEntry] = field(default_factory=list)
    not_images: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    system_files: int = 0


def open_zip(data: bytes) -> zipfile.ZipFile:
    if not data:
        raise ImportRefused("The ZIP file is empty (0 bytes). Please choose the ZIP with the photos again.")
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ImportRefused(
            "The photos file is not a ZIP file we can open (it may be damaged, or another kind of file renamed "
            "to .zip). On Windows right-click the folder > Send to > Compressed (zipped) folder; on a Mac "
            "right-click > Compress."
        ) from None


def list_zip(archive: zipfile.ZipFile) -> ZipListing:
    """Sort the entries into candidate photos and things to report; refuse bombs before reading."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise ImportRefused(
            f"The ZIP file holds {len(infos):,} files; an import takes at most {MAX_ENTRIES:,}. "
            "Please split it into smaller ZIP files."
        )
    _refuse_bombs(infos)
    listing = ZipListing()
    for info in infos:
        if info.is_dir():
            continue
        path = info.filename.replace("\\", "/")
        shown = shorten(path, 80)
        parts = [p for p in path.split("/") if p]
        if path.startswith("/") or _DRIVE_RE.match(path) or ".." in parts:
            listing.unsafe.append(
                f"“{shown}” was ignored: its path points outside the ZIP folder. Nothing was written anywhere."
            )
            continue
        if not parts:
            continue
        if any(p == "__MACOSX" or p.startswith(".") for p in parts) or parts[-1].casefold() in _SYSTEM_FILES:
            listing.system_files += 1
            continue
        basename = parts[-1]
        if PurePosixPath(basename).suffix.casefold() not in IMAGE_EXTENSIONS:
            listing.not_images.append(
                f"“{shorten(basename)}” is not a photo (we take .jpg, .jpeg, .png, .webp and .heic files)."
            )
            continue
        if info.flag_bits & 0x1:
            listing.unreadable.append(
                f"“{shorten(basename)}” is password-protected. Please make the ZIP again without a password."
            )
            continue
        listing.photos.append(ZipEntry(info=info, basename=basename))
    if not listing.photos and not listing.not_images and not listing.unsafe and not listing.unreadable:
        raise ImportRefused(
            "The ZIP file is empty: it has no photos in it. Please zip the folder that holds the portraits."
        )
    return listing


def _refuse_bombs(infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    if total > MAX_TOTAL_BYTES:
        raise ImportRefused(
            f"The ZIP file would unpack to {total / 1024 / 1024:,.0f} MB, far more than class portraits need "
            f"(the limit is {MAX_TOTAL_BYTES // 1024 // 1024} MB). It may be damaged or a “ZIP bomb”; "
            "nothing was imported."
        )
    for info in infos:
        if info.file_size > MAX_ENTRY_BYTES:
            raise ImportRefused(
                f"“{shorten(info.filename)}” in the ZIP would unpack to {info.file_size / 1024 / 1024:,.0f} MB; "
                f"a portrait may be at most {MAX_ENTRY_BYTES // 1024 // 1024} MB. Nothing was imported."
            )
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > MAX_RATIO:
            raise ImportRefused(
                f"“{shorten(info.filename)}” in the ZIP is compressed {ratio:,.0f} to 1, which photos never are. "
                "The ZIP may be damaged or a “ZIP bomb”; nothing was imported."
            )


def read_entry(archive: zipfile.ZipFile, entry: ZipEntry) -> bytes:
    """The entry's bytes, in memory, never more than MAX_ENTRY_BYTES whatever the ZIP declares."""
    try:
        with archive.open(entry.info) as fh:
            data = fh.read(MAX_ENTRY_BYTES + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError, OSError, ValueError):
        raise EntryUnreadable(
            f"“{shorten(entry.basename)}” could not be unpacked from the ZIP (it is damaged or uses an unusual "
            "compression). Please zip the photos again."
        ) from None
    if len(data) > MAX_ENTRY_BYTES:
        raise EntryUnreadable(
            f"“{shorten(entry.basename)}” is larger than {MAX_ENTRY_BYTES // 1024 // 1024} MB once unpacked."
        )
    return data
