"""The uploaded CSV and ZIP wait under temp/ between the preview and the confirm (or cancel)."""

from __future__ import annotations

from attendance_shared import roster_previews
from attendance_shared.models import RosterImport
from attendance_shared.storage import TEMP_PREFIX

from ..extensions import db, store
from ..photos import remove_photos


def temp_keys(import_id: str) -> tuple[str, str]:
    return f"{TEMP_PREFIX}/imports/{import_id}.csv", f"{TEMP_PREFIX}/imports/{import_id}.zip"


def save_files(import_id: str, csv_data: bytes, zip_data: bytes | None) -> tuple[str, str | None]:
    """Store both files (raises StorageError); on failure nothing is left behind."""
    csv_key, zip_key = temp_keys(import_id)
    store().put(csv_key, csv_data, "text/csv")
    if zip_data is None:
        return csv_key, None
    try:
        store().put(zip_key, zip_data, "application/zip")
    except Exception:
        remove_photos([csv_key])
        raise
    return csv_key, zip_key


def load_files(roster_import: RosterImport) -> tuple[bytes, bytes | None]:
    """Both files' bytes (raises StorageError when they are gone)."""
    csv_data = store().get(roster_import.csv_key)
    zip_data = store().get(roster_import.zip_key) if roster_import.zip_key else None
    return csv_data, zip_data


def discard_files(roster_import: RosterImport) -> None:
    remove_photos([roster_import.csv_key, roster_import.zip_key])


def expire_stale_previews(teacher_id: int) -> None:
    """Previews left open for a day are dropped with their files, so temp/ does not grow forever."""
    roster_previews.expire_stale_previews(db(), store(), teacher_id)
