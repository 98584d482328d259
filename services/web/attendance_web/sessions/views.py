from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from attendance_shared.models import (
    AttendanceSession,
    Job,
    JobKind,
    SessionPhoto,
    SessionPhotoStatus,
)
from attendance_shared.storage import StorageError, classroom_photo_key

from ..auth.user import current_teacher_id
from ..courses.forms import DeleteForm
from ..extensions import db, store
from ..jobs_service import new_job, publish
from ..ownership import owned_course, owned_session, owned_session_photo
from ..photos import remove_photos, send_photo
from ..uploads import check_uploads
from . import bp
from .forms import SessionForm


def _get_or_create_session(course_id: int, form: SessionForm) -> AttendanceSession:
    """One session per (course, date, label), even when two requests race (the UNIQUE constraint decides)."""
    label = (form.label.data or "").strip()
    stmt = select(AttendanceSession).where(
        AttendanceSession.course_id == course_id,
        AttendanceSession.date == form.date.data,
        AttendanceSession.label == label,
    )
    existing = db().scalar(stmt)
    if existing:
        return existing
    session = AttendanceSession(course_id=course_id, date=form.date.data, label=label)
    try:
        with db().begin_nested():
            db().add(session)
    except IntegrityError:
        found = db().scalar(stmt)
        assert found is not None
        return found
    return session


@bp.route("/courses/<int:course_id>/sessions", methods=["POST"])
@login_required
def create(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    form = SessionForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return redirect(url_for("courses.show", course_id=course.id)), 303
    good, errors = check_uploads(request.files.getlist(form.photos.name))
    for error in errors:
        flash(error, "error")
    if not good:
        return redirect(url_for("courses.show", course_id=course.id)), 303
    session = _get_or_create_session(course.id, form)
    db().flush()
    known = set(db().scalars(select(SessionPhoto.content_sha256).where(SessionPhoto.session_id == session.id)))
    stored: list[str] = []
    added = 0
    try:
        for upload in good:
            if upload.sha256 in known:
                flash(f"{upload.filename} was already uploaded to this session; it was not added twice.", "info")
                continue
            known.add(upload.sha256)
            key = classroom_photo_key(current_teacher_id(), session.id, upload.info.extension)
            store().put(key, upload.data, upload.info.mime)
            stored.append(key)
            db().add(
                SessionPhoto(
                    session_id=session.id,
                    storage_key=key,
                    original_filename=upload.filename,
                    content_type=upload.info.mime,
                    content_sha256=upload.sha256,
                    width=upload.info.width,
                    height=upload.info.height,
                    status=SessionPhotoStatus.QUEUED,
                )
            )
            added += 1
        job = new_job(current_teacher_id(), JobKind.ATTENDANCE, session.id)
        db().commit()
    except StorageError:
        db().rollback()
        remove_photos(stored)
        flash("The photo store is not answering; nothing was saved. Please try again in a minute.", "error")
        return redirect(url_for("courses.show", course_id=course.id)), 303
    except IntegrityError:
        # The same photo arrived in a concurrent request: that request stored it; drop our copies.
        db().rollback()
        remove_photos(stored)
        flash("These photos were already uploaded to this session.", "info")
        return redirect(url_for("sessions.show", session_id=session.id)), 303
    if not publish(job):
        flash("The photos are saved; recognition will start as soon as the worker is reachable.", "info")
    return redirect(url_for("jobs.show", job_id=job.id)), 303


@bp.route("/sessions/<int:session_id>")
@login_required
def show(session_id: int) -> ResponseReturnValue:
    session = owned_session(session_id)
    records = {r.student_id: r for r in session.records}
    jobs = (
        db()
        .scalars(
            select(Job)
            .where(Job.kind == JobKind.ATTENDANCE, Job.subject_id == session.id, Job.teacher_id == current_teacher_id())
            .order_by(Job.created_at.desc())
            .limit(5)
        )
        .all()
    )
    return render_template("sessions/show.html", session=session, records=records, jobs=jobs, delete_form=DeleteForm())


@bp.route("/sessions/<int:session_id>/rerun", methods=["POST"])
@login_required
def rerun(session_id: int) -> ResponseReturnValue:
    session = owned_session(session_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    for photo in session.photos:
        if photo.storage_key:
            photo.status = SessionPhotoStatus.QUEUED
            photo.error = None
    job = new_job(current_teacher_id(), JobKind.ATTENDANCE, session.id)
    db().commit()
    publish(job)
    return redirect(url_for("jobs.show", job_id=job.id)), 303


@bp.route("/session-photos/<int:photo_id>")
@login_required
def photo(photo_id: int) -> ResponseReturnValue:
    p = owned_session_photo(photo_id)
    if not p.storage_key:
        abort(404)
    return send_photo(p.storage_key, p.content_type)


@bp.route("/session-photos/<int:photo_id>/annotated")
@login_required
def annotated(photo_id: int) -> ResponseReturnValue:
    p = owned_session_photo(photo_id)
    if not p.annotated_key:
        abort(404)
    return send_photo(p.annotated_key, "image/jpeg")
