"""Reports: one session, one course over a date range, one student's history; CSV / XLSX / PDF exports.

- ``views``: the report pages and their downloads (``download``: a document as the ?format= asked);
  ``filters``: the URL's date range, threshold and format.
- ``queries``: the reports as plain data (also read by the JSON API and the benchmark).
- ``tables``: the reports as export documents; ``chart``: the course's bar chart; ``faces``: unknown faces named
  as the review page names them.
- ``document``: the format-neutral document (title, notes, tables); ``formats``: each format and its writer,
  ``csv_export``, ``xlsx_export`` and ``pdf_export``. ``school``: the school report (its page: school.report).
"""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import views  # noqa: E402,F401
