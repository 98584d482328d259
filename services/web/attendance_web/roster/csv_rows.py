"""Reading a roster CSV the way teachers really save them (Excel, Numbers, LibreOffice, Google Sheets).

Excel alone writes UTF-8 with a BOM, Windows-1252 without one, UTF-16 ("Unicode text"), commas or
semicolons depending on the region. We accept all of them and keep every name exactly as typed;
names that start with = + - @ are stored as they are (neutralising formulas is the export's job).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

from attendance_shared.models import Student

from .problems import ImportRefused, shorten

MAX_CSV_BYTES = 5 * 1024 * 1024
# A whole school fits (10,000 rows is about 400 KB); one request still parses and writes it in seconds.
MAX_ROWS = 10_000


def _column_length(column: str) -> int:
    """The schema's limit, so the message and the database can never disagree."""
    length = getattr(Student.__table__.c[column].type, "length", None)
    assert isinstance(length, int)
    return length


NAME_MAX = _column_length("name")
NUMBER_MAX = _column_length("student_number")
EMAIL_MAX = _column_length("email")
DELIMITERS = (";", ",", "\t", "|")  # on a perfect tie ";" wins: Excel in most of Europe writes it
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_NUMBER_TITLES = {
    "studentnumber", "number", "studentno", "no", "nr", "num", "id", "studentid", "pupilnumber",
    "pupilid", "admissionnumber", "matriculationnumber", "matricule", "#", "student#",
}  # fmt: skip
_NAME_TITLES = {"name", "fullname", "studentname", "student", "pupil", "pupilname"}
_FIRST_TITLES = {"firstname", "givenname", "forename", "first"}
_LAST_TITLES = {"lastname", "surname", "familyname", "last"}
_EMAIL_TITLES = {"email", "emailaddress", "mail", "studentemail"}
_ALL_TITLES = _NUMBER_TITLES | _NAME_TITLES | _FIRST_TITLES | _LAST_TITLES | _EMAIL_TITLES


@dataclass(frozen=True)
class RosterRow:
    """One student as the CSV gives it; `line` is the spreadsheet row number the teacher sees."""

    line: int
    number: str
    name: str
    email: str | None


@dataclass
class CsvReading:
    rows: list[RosterRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    encoding: str = "UTF-8"
    delimiter: str = ","
    has_header: bool = False


@dataclass(frozen=True)
class _Columns:
    number: int
    name: int | None
    first: int | None
    last: int | None
    email: int | None


def read_roster_csv(data: bytes) -> CsvReading:
    """Parse and check every row; raise ImportRefused when the file as a whole cannot be used."""
    if len(data) > MAX_CSV_BYTES:
        raise ImportRefused(
            f"The CSV file is {len(data) / 1024 / 1024:.1f} MB; the limit is {MAX_CSV_BYTES // 1024 // 1024} MB. "
            "Is this the right file? A list of 10,000 students is well under 1 MB."
        )
    text, encoding = decode_csv(data)
    delimiter = choose_delimiter(text)
    reading = CsvReading(encoding=encoding, delimiter=delimiter)
    records = _records(text, delimiter)
    first = next(records, None)
    if first is None:
        raise ImportRefused("The CSV file has no students in it. Please choose the file with your class list.")
    first_line, first_cells = first
    seen: dict[str, RosterRow] = {}
    count = 0
    columns = _header_columns(first_cells)
    if columns is None:  # no header: the first row is already a student
        columns = _positional_columns(first_cells)
        _check_row(reading, first_line, first_cells, columns, seen)
        count = 1
    else:
        reading.has_header = True
    for line, cells in records:
        count += 1
        if count > MAX_ROWS:
            raise ImportRefused(
                f"This file has more than {MAX_ROWS:,} students; one import takes at most {MAX_ROWS:,}. "
                "Please split it into smaller files and import them one after another."
            )
        _check_row(reading, line, cells, columns, seen)
    if not reading.rows and not reading.skipped and not reading.duplicates:
        raise ImportRefused("The CSV file has column titles but no students. Please add one student per row.")
    return reading


def decode_csv(data: bytes) -> tuple[str, str]:
    """Text and the name of its encoding: BOMs first, then UTF-8, then Windows-1252, then Latin-1."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused(
            "This looks like an Excel workbook, not a CSV file. In Excel choose File > Save As > "
            "CSV UTF-8 (comma delimited), then upload that file."
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, encoding = _decode_or_refuse(data, "utf-16", "UTF-16")
    elif data.startswith(b"\xef\xbb\xbf"):
        text, encoding = _decode_or_refuse(data, "utf-8-sig", "UTF-8")
    else:
        try:
            text, encoding = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "Latin-1"
    if "\x00" in text:
        raise ImportRefused(
            "This file is not a text CSV file (it contains binary data). Please export your class list as CSV."
        )
    return text, encoding


def _decode_or_refuse(data: bytes, codec: str, label: str) -> tuple[str, str]:
    try:
        return data.decode(codec), label
    except UnicodeDecodeError:
        raise ImportRefused(
            f"The CSV file says it is {label} but part of it is not; it may be damaged. "
            "Please save it again as CSV UTF-8 and upload it."
        ) from None


def choose_delimiter(text: str) -> str:
    """The separator that splits the header into known titles, else the one giving steady columns."""
    sample = [line for line in islice(io.StringIO(text), 200) if line.strip()][:50]
    if not sample:
        return ","
    for delimiter in DELIMITERS:
        cells = next(csv.reader([sample[0]], delimiter=delimiter), [])
        if len(cells) >= 2 and _header_columns(cells) is not None:
            return delimiter
    best, best_score = ",", (0.0, 0, 0)
    for rank, delimiter in enumerate(reversed(DELIMITERS)):
        widths = [len(row) for row in csv.reader(sample, delimiter=delimiter)]
        common = max(set(widths), key=widths.count)
        if common < 2:
            continue
        score = (widths.count(common) / len(widths), common, rank)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, stripped cells) for each non-blank record; a broken record refuses the file."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    line = 0
    while True:
        line += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            limit = csv.field_size_limit()
            if "field larger than field limit" in str(exc):
                raise ImportRefused(
                    f"Row {line} has a cell longer than {limit:,} characters. Is this the right file? "
                    "Please check it in a spreadsheet and save it again as CSV."
                ) from None
            raise ImportRefused(f"Row {line} of the CSV file cannot be read ({exc}).") from None
        cells = [cell.strip() for cell in row]
        if any(cells):
            yield line, cells


def _title(cell: str) -> str:
    return re.sub(r"[\s_\-.]+", "", cell.casefold())


def _header_columns(cells: list[str]) -> _Columns | None:
    """Columns by title when the first row is a header; None when it looks like a student."""
    titles = [_title(c) for c in cells]
    if not any(t in _ALL_TITLES for t in titles):
        return None

    def find(names: set[str]) -> int | None:
        return next((i for i, t in enumerate(titles) if t in names), None)

    number, name = find(_NUMBER_TITLES), find(_NAME_TITLES)
    first, last = find(_FIRST_TITLES), find(_LAST_TITLES)
    if number is None or (name is None and first is None and last is None):
        found = ", ".join(shorten(c, 30) for c in cells if c) or "nothing"
        raise ImportRefused(
            "The first row looks like column titles, but we could not find both a student number column and "
            f"a name column (found: {found}). Please title them student_number and name "
            "(the template shows the layout)."
        )
    return _Columns(number=number, name=name, first=first, last=last, email=find(_EMAIL_TITLES))


def _positional_columns(cells: list[str]) -> _Columns:
    if len(cells) < 2:
        raise ImportRefused(
            "Each row needs at least a student number and a name, separated by commas or semicolons "
            "(for example: 1234,Zoë Nowak). Please check the file or start from the template."
        )
    return _Columns(number=0, name=1, first=None, last=None, email=2)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def _check_row(reading: CsvReading, line: int, cells: list[str], columns: _Columns, seen: dict[str, RosterRow]) -> None:
    """Add the row to `reading.rows`, or say in words why it is skipped."""
    number = _cell(cells, columns.number)
    if columns.name is not None:
        name = _cell(cells, columns.name)
    else:
        name = " ".join(p for p in (_cell(cells, columns.first), _cell(cells, columns.last)) if p)
    email = _cell(cells, columns.email)
    who = f"Row {line} ({shorten(name)})" if name else f"Row {line} (number {shorten(number)})"
    problem = None
    if not number and not name:
        problem = f"Row {line} has neither a student number nor a name."
    elif not number:
        problem = f"{who}: the student number is missing."
    elif not name:
        problem = f"{who}: the name is missing."
    elif len(number) > NUMBER_MAX:
        problem = f"{who}: the student number is {len(number)} characters long; the limit is {NUMBER_MAX}."
    elif len(name) > NAME_MAX:
        problem = (
            f"Row {line} (number {shorten(number)}): the name is {len(name)} characters long; the limit is {NAME_MAX}."
        )
    elif _has_control(number) or _has_control(name):
        problem = f"{who}: the name or number contains a line break or another invisible character."
    if problem:
        reading.skipped.append(problem + " This row is skipped.")
        return
    first = seen.get(number)
    if first is not None:
        if first.name == name:
            reading.duplicates.append(f"Row {line} repeats row {first.line} (number {shorten(number)}); imported once.")
        else:
            reading.duplicates.append(
                f"Row {line} uses student number {shorten(number)} again (row {first.line} is {shorten(first.name)}); "
                f"row {line} ({shorten(name)}) is skipped."
            )
        return
    if email and (len(email) > EMAIL_MAX or not _EMAIL_RE.match(email) or _has_control(email)):
        reading.warnings.append(f"{who}: “{shorten(email)}” is not an email address; imported without an email.")
        email = ""
    row = RosterRow(line=line, number=number, name=name, email=email or None)
    seen[number] = row
    reading.rows.append(row)
