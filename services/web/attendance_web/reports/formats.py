"""The formats a report downloads as, and the writer of each."""

from __future__ import annotations

from ..heavy_steps import heavy_step
from .csv_export import to_csv
from .document import Document
from .pdf_export import to_pdf
from .xlsx_export import to_xlsx

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def render(doc: Document, fmt: str) -> bytes:
    with heavy_step():
        return _render(doc, fmt)


def _render(doc: Document, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv(doc)
    if fmt == "xlsx":
        return to_xlsx(doc)
    if fmt == "pdf":
        return to_pdf(doc)
    raise ValueError(f"unknown export format {fmt!r}")
