"""Live progress of a session's photos, polled by session.js and review.js (no page reloads)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select

from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    Job,
    JobState,
    SessionPhoto,
    SessionPhotoStatus,
)
from attendance_shared.records import (
    ATTENDED,
    PHOTOS_IN_RECOGNITION,
    FaceKind,
    face_kind_counts,
    waiting_for_confirmation,
)

from ..extensions import db
from ..ownership import owned_session
from . import bp
from .review_page import latest_jobs

# What each stage means to a teacher; "uploading" exists only in the browser.
STAGE_TEXT = {
    SessionPhotoStatus.QUEUED: "Waiting for its turn",
    SessionPhotoStatus.PROCESSING: "Starting",
    SessionPhotoStatus.DETECTING: "Finding faces",
    SessionPhotoStatus.MATCHING: "Recognising students",
    SessionPhotoStatus.DONE: "Done",
    SessionPhotoStatus.FAILED: "Failed",
}


def _job_json(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.id,
        "state": job.state.value,
        "progress": job.progress,
        "message": job.message,
        "error": job.error,
        "done": job.state in (JobState.SUCCEEDED, JobState.FAILED),
        "url": url_for("jobs.show", job_id=job.id),
    }


def session_status(session: AttendanceSession) -> dict[str, Any]:
    session_id = session.id
    photos = list(
        db().scalars(select(SessionPhoto).where(SessionPhoto.session_id == session_id).order_by(SessionPhoto.id))
    )
    faces = face_kind_counts(db(), [session_id])[session_id]
    present = db().scalar(
        select(func.count())
        .select_from(AttendanceRecord)
        .where(AttendanceRecord.session_id == session_id, AttendanceRecord.status.in_(ATTENDED))  # late included
    )
    jobs = latest_jobs(session, limit=1)
    job = jobs[0] if jobs else None
    job_data = _job_json(job)
    working = any(p.status in PHOTOS_IN_RECOGNITION for p in photos)
    return {
        "session_id": session_id,
        "photos": [
            {
                "id": p.id,
                "filename": p.original_filename,
                "status": p.status.value,
                "status_text": STAGE_TEXT[p.status],
                "error": p.error,
                "face_count": p.face_count,
            }
            for p in photos
        ],
        "job": job_data,
        "present": present or 0,
        "to_confirm": faces[FaceKind.CONFIRM],  # faces, counted as on the review page (records.FaceKind)
        "unknown": faces[FaceKind.UNKNOWN],
        "waiting": len(waiting_for_confirmation(db(), session_id)),  # students
        "done": bool(job_data["done"]) if job_data else not working,
        "review_url": url_for("sessions.show", session_id=session_id),
    }


@bp.route("/sessions/<int:session_id>/status.json")
@login_required
def status(session_id: int) -> ResponseReturnValue:
    session = owned_session(session_id)
    response = jsonify(session_status(session))
    response.headers["Cache-Control"] = "no-store"
    return response
