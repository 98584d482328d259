from __future__ import annotations

from typing import Any

from flask import jsonify, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from attendance_shared.models import Job, JobKind, StudentPhoto

from ..extensions import db
from ..ownership import owned_job
from . import bp
from .status import job_status, state_words


def job_json(job: Job) -> dict[str, Any]:
    """The page's polling shape: the API's (job_status) plus the words and badge the page shows."""
    data = job_status(job)
    data["state_words"], data["badge"] = state_words(job)
    if job.kind == JobKind.ATTENDANCE:
        data["result_url"] = url_for("sessions.show", session_id=job.subject_id)
    else:
        photo = db().get(StudentPhoto, job.subject_id)
        data["result_url"] = url_for("students.show", student_id=photo.student_id) if photo else None
    return data


@bp.route("/jobs/<job_id>.json")
@login_required
def status(job_id: str) -> ResponseReturnValue:
    job = owned_job(job_id)
    response = jsonify(job_json(job))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/jobs/<job_id>")
@login_required
def show(job_id: str) -> ResponseReturnValue:
    job = owned_job(job_id)
    return render_template("jobs/show.html", job=job, data=job_json(job))
