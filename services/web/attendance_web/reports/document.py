"""A report as a format-neutral document: a title, notes and tables of cells, which the CSV, XLSX and PDF
writers (``csv_export``, ``xlsx_export``, ``pdf_export``) each print their own way."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

Cell = str | int | float | None


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]
    key_columns: int = 1  # repeated on every PDF page when a wide table is split by columns
    pdf_header: list[str] | None = None  # shorter headings for the PDF's narrow columns


@dataclass
class Document:
    title: str
    filename_stem: str  # ASCII, no extension
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def safe_filename(text: str, fallback: str = "report") -> str:
    """An ASCII slug for Content-Disposition: accents folded, everything else dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-").lower()
    return slug[:80] or fallback
