"""Opening a OneRoster ZIP without trusting it, and reading its manifest and CSV files into rows.

Sizes and compression ratios declared in the ZIP are checked before anything is inflated, each file is read
with a hard cap, and only files named by the specification are read (matched by their last path part, so a
SIS that zips the folder, not its contents, works too). Every problem that makes a whole file unusable is an
`ImportRefused` in words; problems with single rows are left to `bundle`.
"""

from __future__ import annotations

import csv
import io
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from ..roster.problems import ImportRefused, shorten
from .spec import BY_NAME, REQUIRED_FILES, SUPPORTED_VERSIONS, FileMode, FileSpec, manifest_key

MAX_FILE_BYTES = 100 * 1024 * 1024  # one CSV, unpacked: 10,000 users is about 2 MB
MAX_TOTAL_BYTES = 300 * 1024 * 1024
MAX_RATIO = 200  # CSV compresses well (about 1:10), never 1:1000
RATIO_FLOOR_BYTES = 1024 * 1024
MAX_ROWS = 200_000  # per file: a large district's enrollments
MANIFEST = "manifest.csv"


@dataclass(frozen=True)
class CsvRow:
    """One data row: `line` is the line number a spreadsheet shows (the header is line 1)."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()


@dataclass
class CsvFile:
    spec: FileSpec
    mode: FileMode
    rows: list[CsvRow] = field(default_factory=list)
    #: rows whose cells do not match the header, as (line, reason)
    broken: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class FileSet:
    """What the ZIP holds: the manifest's version and source, and each file the manifest supplies."""

    version: str
    source: str
    files: dict[str, CsvFile]
    notes: list[str] = field(default_factory=list)

    def rows(self, name: str) -> list[CsvRow]:
        found = self.files.get(name)
        return found.rows if found else []

    def mode(self, name: str) -> FileMode:
        found = self.files.get(name)
        return found.mode if found else FileMode.ABSENT


def read_file_set(data: bytes) -> FileSet:
    """The ZIP's manifest and files, or `ImportRefused` saying why the set cannot be used at all."""
    archive = _open(data)
    entries = _entries(archive)
    if MANIFEST not in entries:
        raise ImportRefused(
            "The ZIP has no manifest.csv, so it is not a OneRoster file set. Export the roster from your student "
            "information system as “OneRoster 1.2 CSV” and upload that ZIP as it is."
        )
    manifest = _manifest(_text(archive, entries[MANIFEST], MANIFEST))
    version = manifest.get("oneroster.version", "")
    if version not in SUPPORTED_VERSIONS:
        raise ImportRefused(
            f"manifest.csv says OneRoster version “{shorten(version) or 'none'}”; this import reads versions "
            f"{' and '.join(SUPPORTED_VERSIONS)}. Ask for a OneRoster 1.2 CSV export."
        )
    files: dict[str, CsvFile] = {}
    notes: list[str] = []
    for name, spec in BY_NAME.items():
        raw_mode = manifest.get(manifest_key(name), FileMode.ABSENT.value).strip().casefold()
        try:
            mode = FileMode(raw_mode)
        except ValueError:
            raise ImportRefused(
                f"manifest.csv gives {manifest_key(name)} as “{shorten(raw_mode)}”; it must be bulk, delta or absent."
            ) from None
        if mode is FileMode.ABSENT:
            if name in REQUIRED_FILES:
                raise ImportRefused(
                    f"The file set has no {name} (manifest.csv says it is absent). Attendance needs orgs.csv, "
                    "classes.csv, users.csv and enrollments.csv; ask for an export that includes them."
                )
            if name in entries:
                notes.append(f"{name} is in the ZIP but manifest.csv says it is absent, so it was not read.")
            continue
        if name not in entries:
            raise ImportRefused(f"manifest.csv lists {name} as {mode.value}, but the ZIP has no {name}.")
        files[name] = _read_csv(spec, mode, _text(archive, entries[name], name))
    source = manifest.get("source.systemName", "")
    return FileSet(version=version, source=source, files=files, notes=notes)


def _open(data: bytes) -> zipfile.ZipFile:
    if not data:
        raise ImportRefused("The file is empty (0 bytes). Please choose the OneRoster ZIP again.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise ImportRefused(
            "This is not a ZIP file we can open (it may be damaged, or another kind of file). The OneRoster "
            "export is one ZIP holding manifest.csv, orgs.csv, classes.csv, users.csv and enrollments.csv."
        ) from None
    infos = archive.infolist()
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_BYTES:
        raise ImportRefused(
            f"The ZIP would unpack to {total / 1024 / 1024:,.0f} MB; a roster import takes at most "
            f"{MAX_TOTAL_BYTES // 1024 // 1024} MB. It may be damaged; nothing was imported."
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MAX_FILE_BYTES or (info.file_size > RATIO_FLOOR_BYTES and ratio > MAX_RATIO):
            raise ImportRefused(
                f"“{shorten(info.filename)}” in the ZIP is too large once unpacked "
                f"({info.file_size / 1024 / 1024:,.0f} MB, compressed {ratio:,.0f} to 1). It may be damaged or "
                "a “ZIP bomb”; nothing was imported."
            )
    return archive


def _entries(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The specification's files by name, wherever they sit in the ZIP; a name found twice refuses the set."""
    found: dict[str, zipfile.ZipInfo] = {}
    wanted = {MANIFEST, *BY_NAME}
    for info in archive.infolist():
        if info.is_dir():
            continue
        parts = [p for p in info.filename.replace("\\", "/").split("/") if p]
        if not parts or any(p == "__MACOSX" or p.startswith(".") for p in parts):
            continue
        name = PurePosixPath(parts[-1]).name
        if name not in wanted:
            continue
        if name in found:
            raise ImportRefused(f"The ZIP holds {name} twice; a OneRoster file set has each file once.")
        found[name] = info
    return found


def _text(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> str:
    try:
        with archive.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, EOFError, OSError, ValueError):
        raise ImportRefused(f"{name} could not be unpacked from the ZIP (damaged or password-protected).") from None
    if len(data) > MAX_FILE_BYTES:
        raise ImportRefused(f"{name} is larger than {MAX_FILE_BYTES // 1024 // 1024} MB once unpacked.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(
            f"{name} is not UTF-8 text (a byte at position {exc.start:,} cannot be read). OneRoster files are "
            "UTF-8; export them again from the student information system."
        ) from None


def _manifest(text: str) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    if not rows or [cell.strip() for cell in rows[0][:2]] != ["propertyName", "value"]:
        raise ImportRefused("manifest.csv must start with the header “propertyName,value”.")
    return {row[0].strip(): row[1].strip() for row in rows[1:] if len(row) >= 2 and row[0].strip()}


def _read_csv(spec: FileSpec, mode: FileMode, text: str) -> CsvFile:
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise ImportRefused(f"{spec.name} is empty: it has not even a header row.") from None
    except csv.Error:
        raise ImportRefused(f"{spec.name} is not a CSV file we can read.") from None
    missing = [column for column in spec.required_columns if column not in header]
    if missing:
        lower = {cell.casefold(): cell for cell in header}
        hints = [f"“{lower[m.casefold()]}” should be written “{m}”" for m in missing if m.casefold() in lower]
        case_hint = f" ({'; '.join(hints)}: the names are case-sensitive.)" if hints else ""
        raise ImportRefused(
            f"{spec.name} has no column {', '.join(f'“{m}”' for m in missing)}; OneRoster requires "
            f"{', '.join(spec.required_columns)}.{case_hint}"
        )
    duplicated = sorted({cell for cell in header if cell and header.count(cell) > 1})
    if duplicated:
        raise ImportRefused(f"{spec.name} has the column {', '.join(duplicated)} twice.")
    read = CsvFile(spec=spec, mode=mode)
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(read.rows) + len(read.broken) >= MAX_ROWS:
                raise ImportRefused(
                    f"{spec.name} has more than {MAX_ROWS:,} rows; split the export by school and import each."
                )
            if len(cells) != len(header):
                read.broken.append(
                    (line, f"has {len(cells)} cells where the header has {len(header)} (a comma or quote out of place)")
                )
                continue
            read.rows.append(CsvRow(line=line, values=dict(zip(header, cells, strict=True))))
    except csv.Error as exc:
        raise ImportRefused(f"{spec.name} cannot be read as CSV near line {reader.line_num:,}: {exc}.") from None
    return read
