"""The school report page and its downloads, for the school's admin only (anyone else: 404, as the School page).

The figures are reports.school's, which reads each course through the course report's own query."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from .. import ownership  # a module, not its names: ownership imports auth, which reaches this package
from ..extensions import db
from ..reports.download import download
from ..reports.filters import read_filters
from ..reports.queries import DEFAULT_THRESHOLD, RATE_DEFINITION
from ..reports.school import CHRONIC_DEFINITION, DEFAULT_CHRONIC_PCT, school_document, school_report
from ..reports.tables import percent
from . import bp


@bp.route("/school/report")
@login_required
def report() -> ResponseReturnValue:
    admin = ownership.school_admin()
    filters = read_filters(request.args, DEFAULT_CHRONIC_PCT)
    r = school_report(db(), admin.school_id, admin.school.name, filters.period, filters.threshold)
    return render_template(
        "school/report.html",
        report=r,
        filters=filters,
        percent=percent,
        rate_definition=RATE_DEFINITION,
        chronic_definition=CHRONIC_DEFINITION,
        course_threshold_pct=round(DEFAULT_THRESHOLD * 100),  # a course's link opens its report as it opens alone
    )


@bp.route("/school/report/export")
@login_required
def report_export() -> ResponseReturnValue:
    admin = ownership.school_admin()
    filters = read_filters(request.args, DEFAULT_CHRONIC_PCT)
    r = school_report(db(), admin.school_id, admin.school.name, filters.period, filters.threshold)
    return download(school_document(r, chronic_first=request.args.get("list") == "chronic"))
