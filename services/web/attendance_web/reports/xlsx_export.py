"""A report as an XLSX workbook: one sheet per table, and the notes.

Spreadsheet formula injection: XLSX cells carry their type, so every text is written as a string cell
(``t="inlineStr"``), which Excel and LibreOffice show as typed and never evaluate, so a student named
``=cmd|' /C calc'!A0`` needs no apostrophe there (the CSV writer adds one). What remains: a teacher who
re-saves that sheet as CSV writes the name bare, and the new CSV runs it when opened.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

from .document import Cell, Document, Table

_XLSX_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
DATE_HEADER = "Date"  # an XLSX column with this header holds days: its ISO dates are written as date cells
XLSX_DATE_FORMAT = "yyyy-mm-dd"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _sheet_title(title: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\']", " ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        name, n = f"{base[:25]} {n}", n + 1
    used.add(name.lower())
    return name


def to_xlsx(doc: Document) -> bytes:
    """One sheet per table (header bold and frozen with the key columns) and an "About" sheet with
    the notes. Write-only mode: a 500 x 100 course report streams instead of building 57,000 cells.
    Every text is an inline string cell (``_text_cell``): a name starting with "=" is shown as typed, never run
    as a formula, and needs no visible apostrophe as in the CSV. The one exception: in a column headed "Date"
    (a session's day), an ISO date ("2026-11-24") is a real date cell shown as yyyy-mm-dd (``_date_cell``), so
    Excel sorts and filters it as a date."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    used: set[str] = set()
    bold = Font(bold=True)
    for table in doc.tables:
        ws = wb.create_sheet(_sheet_title(table.title, used))
        for index, width in enumerate(_column_widths(table), start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = f"{get_column_letter(table.key_columns + 1)}2"
        header = []
        for h in table.header:
            cell = _text_cell(ws, h)
            cell.font = bold
            header.append(cell)
        ws.append(header)
        dates = {i for i, h in enumerate(table.header) if h == DATE_HEADER}
        for row in table.rows:
            ws.append([_xlsx_cell(ws, v, i in dates) for i, v in enumerate(row)])
    if doc.notes:
        notes = wb.create_sheet(_sheet_title("About", used))
        notes.column_dimensions["A"].width = 100
        for line in [doc.title, *doc.notes]:
            notes.append([_text_cell(ws=notes, value=line)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _xlsx_cell(ws: Any, value: Cell, date_column: bool) -> Any:
    if isinstance(value, str):
        day = _iso_date(value) if date_column else None
        return _date_cell(ws, day) if day is not None else _text_cell(ws, value)
    return value


def _iso_date(value: str) -> dt.date | None:
    """The day of an ISO date text ("2026-11-24"), or None for anything else."""
    if not _ISO_DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _date_cell(ws: Any, day: dt.date) -> Any:
    """A date cell (a serial number Excel sorts and filters as a date), shown as 2026-11-24."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=day)
    cell.number_format = XLSX_DATE_FORMAT
    return cell


def _text_cell(ws: Any, value: str) -> Any:
    """A string cell, typed as one: openpyxl would make "=..." a formula; control characters (invalid in the XML,
    openpyxl refuses them) are dropped."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, value=_XLSX_ILLEGAL.sub("", value))
    cell.data_type = "s"
    return cell


def _column_widths(table: Table) -> list[float]:
    widths: list[float] = []
    for i, head in enumerate(table.header):
        longest = max([len(head)] + [len(str(r[i])) for r in table.rows[:200] if r[i] is not None])
        widths.append(min(max(longest + 2, 4), 40))
    return widths
