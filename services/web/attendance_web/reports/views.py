"""Report pages and their downloads. Every route looks its subject up through ownership.py, so
another teacher's ids answer 404."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from ..decided import decision_html
from ..extensions import db
from ..ownership import owned_course, owned_session, owned_student, visible_courses
from . import bp
from .chart import attendance_chart
from .download import download
from .faces import place_unknown_faces
from .filters import read_filters, read_format
from .queries import RATE_DEFINITION, course_matrix, session_report, student_history
from .tables import (
    LEGEND,
    MARK_LETTERS,
    MARK_WORDS,
    SOURCE_WORDS,
    course_document,
    matrix_cells,
    percent,
    session_document,
    student_document,
)

TEMPLATE_HELPERS = {
    "mark_letters": MARK_LETTERS,
    "matrix_cells": matrix_cells,
    "mark_words": MARK_WORDS,
    "source_words": SOURCE_WORDS,
    "decision_html": decision_html,
    "percent": percent,
    "legend": LEGEND,
    "rate_definition": RATE_DEFINITION,
}


@bp.route("/courses/<int:course_id>")
@login_required
def course(course_id: int) -> ResponseReturnValue:
    owned = owned_course(course_id)
    filters = read_filters(request.args)
    matrix = course_matrix(db(), owned, filters.period, filters.threshold)
    return render_template(
        "reports/course.html",
        course=owned,
        matrix=matrix,
        chart=attendance_chart(matrix),
        filters=filters,
        **TEMPLATE_HELPERS,
    )


@bp.route("/courses/<int:course_id>/export")
@login_required
def course_export(course_id: int) -> ResponseReturnValue:
    owned = owned_course(course_id)
    filters = read_filters(request.args)
    return download(course_document(course_matrix(db(), owned, filters.period, filters.threshold)))


@bp.route("/sessions/<int:session_id>")
@login_required
def session(session_id: int) -> ResponseReturnValue:
    report = session_report(db(), owned_session(session_id))
    return render_template(
        "reports/session.html", report=report, unknown_faces=place_unknown_faces(report), **TEMPLATE_HELPERS
    )


@bp.route("/sessions/<int:session_id>/export")
@login_required
def session_export(session_id: int) -> ResponseReturnValue:
    report = session_report(db(), owned_session(session_id))
    return download(session_document(report, place_unknown_faces(report)))


@bp.route("/students/<int:student_id>")
@login_required
def student(student_id: int) -> ResponseReturnValue:
    owned = owned_student(student_id)
    filters = read_filters(request.args)
    history = student_history(db(), owned, filters.period, visible_courses())
    return render_template("reports/student.html", history=history, filters=filters, **TEMPLATE_HELPERS)


@bp.route("/students/<int:student_id>/export")
@login_required
def student_export(student_id: int) -> ResponseReturnValue:
    filters = read_filters(request.args)
    history = student_history(db(), owned_student(student_id), filters.period, visible_courses())
    # The PDF's title names the student; the CSV and XLSX rows carry the name and number themselves.
    return download(student_document(history, student_columns=read_format(request.args) != "pdf"))
