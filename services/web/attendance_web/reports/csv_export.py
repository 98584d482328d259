"""A report's first table as CSV.

Spreadsheet formula injection: a student named ``=cmd|' /C calc'!A0`` must reach Excel as text,
never as a formula. CSV has no cell types, so every text cell that starts with ``= + - @``, their
full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20: spreadsheets in East Asian locales read them as the start of
a formula too), a tab or a carriage return gets a leading apostrophe (OWASP's CSV injection guidance). The XLSX writer
(``xlsx_export``) types its cells instead.
"""

from __future__ import annotations

import csv
import io

from .document import Cell, Document

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r")


def neutralise(value: Cell) -> Cell:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers are left alone."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def to_csv(doc: Document) -> bytes:
    """The first table only (one table per file keeps the CSV machine-readable), UTF-8 with a BOM
    so Excel shows accented names correctly."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    table = doc.tables[0]
    writer.writerow([neutralise(h) for h in table.header])
    for row in table.rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")
