"""Reports: one session, one course over a date range, one student's history; CSV / XLSX / PDF exports."""

from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/reports")

from . import views  # noqa: E402,F401
