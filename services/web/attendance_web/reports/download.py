"""A report document as the download the URL's ?format= asks for (csv, xlsx or pdf; anything else: 400)."""

from __future__ import annotations

from flask import Response, abort, request

from .document import Document
from .filters import read_format
from .formats import FORMATS, render


def download(doc: Document) -> Response:
    fmt = read_format(request.args)
    if fmt is None:
        abort(400, description="Choose csv, xlsx or pdf as the format.")
    response = Response(render(doc, fmt), content_type=FORMATS[fmt])  # mimetype= would add a second charset
    response.headers["Content-Disposition"] = f'attachment; filename="{doc.filename_stem}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
