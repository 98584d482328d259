"""Taking attendance (upload, progress) and the review page of a session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from markupsafe import Markup

from attendance_shared.images import ImageRejected
from attendance_shared.models import AttendanceSession
from attendance_shared.storage import StorageError

from .. import direct_uploads
from ..auth.user import current_teacher_id
from ..extensions import settings, store
from ..heavy_steps import heavy_step
from ..ids import parse_id
from ..ownership import owned_course, owned_session, owned_session_photo
from ..photos import send_photo
from ..responses import json_error, wants_json
from . import bp
from .classroom_photos import (
    Intake,
    Photo,
    StoreUnavailable,
    check_each,
    label_notice,
    new_session,
    start_recognition,
    store_photos,
)
from .display import display_jpeg
from .forms import ActionForm, AssignFaceForm, MarkForm, SessionForm
from .review_page import build

ADD_TO_EARLIER = 'To add photos to the earlier session instead, open it and use "Add more photos to this session".'


def _urls(session: AttendanceSession) -> dict[str, str]:
    return {
        "status_url": url_for("sessions.status", session_id=session.id),
        "review_url": url_for("sessions.show", session_id=session.id),
        "start_url": url_for("sessions.rerun", session_id=session.id),
    }


def _course_session(course_id: int, session_id: int) -> AttendanceSession:
    """A session of this course that the teacher chose to add photos to; anything else is a 404."""
    session = owned_session(session_id)
    if session.course_id != course_id:
        abort(404)
    return session


@bp.route("/courses/<int:course_id>/sessions/new")
@login_required
def new(course_id: int) -> ResponseReturnValue:
    """The take-attendance page (a new session); `?session=<id>` adds photos to that session instead."""
    course = owned_course(course_id)
    form = SessionForm()
    target = None
    session_id = parse_id(request.args.get("session"))
    if session_id is not None:
        target = _course_session(course.id, session_id)
        form.session_id.data = target.id
    else:  # back from a refused upload: the date and label the teacher chose, not today's and none
        try:
            form.date.data = dt.date.fromisoformat(request.args.get("date", ""))
        except ValueError:
            # Today by the server's clock (UTC) until times.js puts the teacher's own today in the field: around
            # midnight in Tokyo or Samoa the two differ, and the lesson would be filed under the wrong day.
            form.date.render_kw = {**(form.date.render_kw or {}), "data-local-today": ""}
        form.label.data = request.args.get("label", "")[:80] or form.label.data
    max_mb = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    return render_template(
        "sessions/new.html",
        course=course,
        form=form,
        target=target,
        max_upload_mb=max_mb,
        direct=direct_uploads.enabled(),
    )


def _already_in(intake: Intake) -> str | None:
    """When every usable file of this request was already in the session (nothing added, no job started):
    the sentence naming that session. None otherwise."""
    if intake.added or intake.job is not None or not intake.duplicates:
        return None
    which = (
        f"{intake.duplicates[0]} is" if len(intake.duplicates) == 1 else f"These {len(intake.duplicates)} photos are"
    )
    return (
        f"{which} already in the session of {intake.session.title}: nothing was added "
        "and recognition was not started again."
    )


def _back_to_form(course_id: int, back_to: int | None) -> ResponseReturnValue:
    """Back to the form the teacher came from: the "add photos" one (`back_to`), or a new session's
    with their date and label."""
    kept: dict[str, Any] = {}
    if back_to is None:
        kept = {"date": request.form.get("date"), "label": request.form.get("label")}
    return redirect(url_for("sessions.new", course_id=course_id, session=back_to, **kept)), 303


def _refused(
    course_id: int, message: str, errors: list[dict[str, str]], code: str, status: int, back_to: int | None = None
) -> ResponseReturnValue:
    """Nothing stored. Browsers go back to the form they came from (`back_to`: the "add photos" one)."""
    if wants_json():
        return json_error(status, code, message, beside={"errors": errors, "session_id": None, "job_id": None})
    flash(message, "error")
    for error in errors:
        flash(error["message"], "error")
    return _back_to_form(course_id, back_to)


def _created_json(intake: Intake, errors: list[dict[str, str]], notice: str | None) -> ResponseReturnValue:
    job = intake.job
    already = _already_in(intake)
    body: dict[str, Any] = {
        "session_id": intake.session.id,
        "date": intake.session.date.isoformat(),
        "label": intake.session.label,
        "notice": notice,
        "job_id": job.id if job else None,
        "job_url": url_for("jobs.show", job_id=job.id) if job else None,
        **_urls(intake.session),
        "added": intake.added,
        "duplicates": intake.duplicates,
        "errors": errors,
        "queued": intake.published,
        # Every file was already there: session.js says so (with a link) and starts nothing.
        "already_in": {
            "message": already,
            "session_id": intake.session.id,
            "title": intake.session.title,
            "review_url": url_for("sessions.show", session_id=intake.session.id),
        }
        if already
        else None,
    }
    return jsonify(body), 201 if intake.added else 200


@bp.route("/courses/<int:course_id>/sessions", methods=["POST"])
@login_required
def create(course_id: int) -> ResponseReturnValue:
    """Store the photos and start recognition. Browsers are redirected to the job; scripts get JSON.

    Without `session_id` this is always a new session (another label when the date and label are taken,
    and the teacher is told); with it, the photos are added to that session."""
    course = owned_course(course_id)
    form = SessionForm()
    back_to = form.session_id.data
    if not form.validate_on_submit():
        messages = [str(e) for errs in form.errors.values() for e in errs]
        return _refused(course.id, " ".join(messages) or "Please check the form.", [], "invalid_form", 400, back_to)
    good, refusals = check_each(request.files.getlist(form.photos.name))
    errors = [{"code": r.code, "filename": r.filename, "message": r.message} for r in refusals]
    return _take(course.id, form, good, errors)


def _take(
    course_id: int, form: SessionForm, good: Sequence[Photo], errors: list[dict[str, str]]
) -> ResponseReturnValue:
    """The photos (posted and checked, or uploaded straight to S3 and registered) into a new session or the one
    named by `session_id`; the job created, committed and published. create() and register() answer with it."""
    back_to = form.session_id.data
    if not good:
        return _refused(course_id, "None of the files is a photo we can use.", errors, "no_usable_photos", 400, back_to)
    notice = None
    if back_to is not None:
        session, fresh = _course_session(course_id, back_to), False
    else:
        label = (form.label.data or "").strip()
        session, fresh = new_session(course_id, form.date.data, label, good)
        # Not fresh: the very same photos sent again (a double click) are answered with the session holding
        # them; the teacher is told that (_already_in), not that a session was saved under another label.
        notice = label_notice(session, label) if fresh else None
        if notice:
            notice += f" {ADD_TO_EARLIER}"
    try:
        intake = store_photos(current_teacher_id(), session, good, hold=bool(form.hold.data), fresh=fresh)
    except StoreUnavailable as exc:
        return _refused(course_id, str(exc), errors, "storage_unavailable", 503, back_to)
    if wants_json():
        return _created_json(intake, errors, notice)
    if notice:
        flash(notice, "info")
    for error in errors:
        flash(error["message"], "error")
    already = _already_in(intake)
    if already and not form.hold.data:
        link = url_for("sessions.show", session_id=intake.session.id)
        flash(Markup('{} <a href="{}">Open that session</a>').format(already, link), "info")
        return _back_to_form(course_id, back_to)
    for name in intake.duplicates:
        flash(f"{name} was already uploaded to this session; it was not added twice.", "info")
    if intake.job is None:
        return redirect(url_for("sessions.show", session_id=intake.session.id)), 303
    if not intake.published:
        flash("The photos are saved; recognition will start as soon as the worker is reachable.", "info")
    return redirect(url_for("jobs.show", job_id=intake.job.id)), 303


@bp.route("/courses/<int:course_id>/sessions/sign", methods=["POST"])
@login_required
def sign_uploads(course_id: int) -> ResponseReturnValue:
    """Direct uploads, step 1 (direct_uploads.sign): a presigned POST per announced photo, or why it is refused.
    A `session_id` names the session the photos will be added to (it must be one of this course's)."""
    course = owned_course(course_id)
    if not direct_uploads.enabled():
        abort(404)
    body = request.get_json(silent=True)
    session_id = parse_id(body.get("session_id")) if isinstance(body, dict) else None
    if session_id is not None:
        _course_session(course.id, session_id)
    return direct_uploads.sign_answer(current_teacher_id(), body)


@bp.route("/courses/<int:course_id>/sessions/register", methods=["POST"])
@login_required
def register_uploads(course_id: int) -> ResponseReturnValue:
    """Direct uploads, step 3: the form's fields as for create(), with a `ticket` per photo already in the bucket
    instead of the photos. Answered exactly as create() answers."""
    course = owned_course(course_id)
    if not direct_uploads.enabled():
        abort(404)
    form = SessionForm()
    form.photos.validators = []  # the photos are in the bucket already: their tickets stand for them
    back_to = form.session_id.data
    if not form.validate_on_submit():
        messages = [str(e) for errs in form.errors.values() for e in errs]
        return _refused(course.id, " ".join(messages) or "Please check the form.", [], "invalid_form", 400, back_to)
    if back_to is not None:
        _course_session(course.id, back_to)  # another teacher's session (or course's) is a 404 before anything
    try:
        registration = direct_uploads.register(current_teacher_id(), request.form.getlist("ticket"))
    except StorageError:
        message = "The photo store is not answering; nothing was saved. Please try again in a minute."
        return _refused(course.id, message, [], "storage_unavailable", 503, back_to)
    errors = [r.as_json() for r in registration.refused]
    return _take(course.id, form, registration.uploads, errors)


@bp.route("/sessions/<int:session_id>")
@login_required
def show(session_id: int) -> ResponseReturnValue:
    session = owned_session(session_id)
    page = build(session, current_teacher_id())
    return render_template(
        "sessions/show.html",
        page=page,
        session=session,
        action_form=ActionForm(),
        assign_form=AssignFaceForm(),
        mark_form=MarkForm(),
        urls=_urls(session),
    )


@bp.route("/sessions/<int:session_id>/rerun", methods=["POST"])
@login_required
def rerun(session_id: int) -> ResponseReturnValue:
    """Recognise every photo again; manual records are kept exactly as they are."""
    session = owned_session(session_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    job, published = start_recognition(current_teacher_id(), session)
    if wants_json():
        return jsonify({"session_id": session.id, "job_id": job.id, "queued": published, **_urls(session)}), 202
    if not published:
        flash("Recognition will start as soon as the worker is reachable.", "info")
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


@bp.route("/session-photos/<int:photo_id>/view")
@login_required
def view(photo_id: int) -> ResponseReturnValue:
    """The upright, downsized JPEG the review page draws face boxes on (see display.py)."""
    p = owned_session_photo(photo_id)
    if not p.storage_key:
        abort(404)
    etag = f"v1-{p.content_sha256[:32]}"
    if etag in request.if_none_match:
        return "", 304, {"ETag": f'"{etag}"', "Cache-Control": "private, max-age=86400"}
    try:
        with heavy_step():  # the stored photo's bytes and its decoded pixels: a few at a time per process
            data = display_jpeg(store().get(p.storage_key), settings().max_image_pixels)
    except StorageError:
        abort(404)
    except (ImageRejected, OSError):
        return send_photo(p.storage_key, p.content_type)
    response = current_app.response_class(data, mimetype="image/jpeg")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response
