"""Undo a mistake on a session: rename it (date and label), delete it, remove one of its photos.

Each removal first shows a page that says in words what will go (removal.py counts it); the POST removes it, commits,
then deletes the stored files. Every page works without JavaScript.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length, Optional

from attendance_shared.models import AttendanceSession, SessionPhoto

from ..audit import audit
from ..auth.user import current_teacher_id
from ..extensions import db
from ..jobs_service import UnitOfWork
from ..ownership import managed_course, owned_session, owned_session_photo
from . import bp, removal
from .forms import ActionForm

STILL_RUNNING = "Recognition is still running on this session's photos. Wait until it has finished, then {}."


class SessionEditForm(FlaskForm):
    date = DateField("Date", validators=[InputRequired("Choose the date of the lesson.")])
    label = StringField("Label (e.g. Period 3)", validators=[Optional(), Length(max=80)])


def _review(session_id: int) -> str:
    return url_for("sessions.show", session_id=session_id)


def _still_running(session: AttendanceSession, what: str) -> ResponseReturnValue:
    """Back to the review page, which follows recognition live, with the reason."""
    flash(STILL_RUNNING.format(what), "error")
    return redirect(_review(session.id)), 303 if request.method == "POST" else 302


def _taken(session: AttendanceSession, form: SessionEditForm) -> AttendanceSession | None:
    """Another session of the course with this date and label (a course has one list per date and label)."""
    return db().scalar(
        select(AttendanceSession).where(
            AttendanceSession.course_id == session.course_id,
            AttendanceSession.date == form.date.data,
            AttendanceSession.label == (form.label.data or "").strip(),
            AttendanceSession.id != session.id,
        )
    )


@bp.route("/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@login_required
def edit(session_id: int) -> ResponseReturnValue:
    """Change the date and label of a session (a lesson filed under the wrong day or period)."""
    session = owned_session(session_id)
    form = SessionEditForm(obj=session)
    if form.validate_on_submit():
        other = _taken(session, form)
        if other is not None:
            form.label.errors = [
                f"This course already has a session of {other.title}. Choose another label (for example "
                f'"{(form.label.data or "").strip() or "Period"} 2"), or delete one of the two sessions.'
            ]
        else:
            before = session.title
            session.date, session.label = form.date.data, (form.label.data or "").strip()
            try:
                db().commit()
            except IntegrityError:  # the same date and label saved by another request a moment ago
                db().rollback()
                form.label.errors = ["Another session just took this date and label. Choose another label."]
            else:
                flash(f"Saved: the session of {before} is now the session of {session.title}.", "success")
                return redirect(_review(session.id)), 303
    status = 400 if form.errors else 200
    return render_template("sessions/edit.html", session=session, form=form), status


@bp.route("/sessions/<int:session_id>/delete", methods=["GET", "POST"])
@login_required
def delete(session_id: int) -> ResponseReturnValue:
    """GET: what deleting would remove, in words. POST: delete it, then its stored photos. Its course's owner or the
    school's admin only: a co-teacher corrects a session, never deletes one."""
    session = owned_session(session_id)
    managed_course(session.course_id)
    if removal.in_recognition(session):
        return _still_running(session, "delete the session")
    contents = removal.session_contents(db(), session)
    sentence = removal.session_sentence(session, contents)
    form = ActionForm()
    if not form.validate_on_submit():
        return render_template(
            "sessions/remove.html",
            title=f"Delete the session of {session.title}?",
            session=session,
            sentences=[sentence, removal.learned_sentence(contents), "Reports will no longer count it."],
            action=url_for("sessions.delete", session_id=session.id),
            button="Delete this session",
            form=form,
        )
    course_id, title = session.course_id, session.title
    teacher_id = current_teacher_id()
    detail = (
        f"session_id={session.id} course_id={course_id} date={session.date.isoformat()} label={session.label!r} "
        f"photos={contents.photos} faces={contents.faces} records={contents.marks} learned={contents.learned}"
    )
    with UnitOfWork(teacher_id) as work:
        gone = removal.delete_session(db(), session)
        for key in gone.keys:
            work.remove_after_commit(key)
        audit("session_deleted", teacher_id, detail)
    flash(f"The session of {title} was deleted: {removal.what_goes(gone)}.", "success")
    return redirect(url_for("courses.show", course_id=course_id)), 303


@bp.route("/session-photos/<int:photo_id>/remove", methods=["GET", "POST"])
@login_required
def remove_photo(photo_id: int) -> ResponseReturnValue:
    """GET: what removing the photo does. POST: remove it; the session's attendance follows the photos left."""
    photo: SessionPhoto = owned_session_photo(photo_id)
    session = photo.session
    if removal.in_recognition(session):
        return _still_running(session, "remove the photo")
    form = ActionForm()
    if not form.validate_on_submit():
        contents = removal.photo_contents(db(), photo)
        return render_template(
            "sessions/remove.html",
            title=f"Remove {photo.original_filename} from the session of {session.title}?",
            session=session,
            sentences=[removal.photo_sentence(photo, contents), removal.learned_sentence(contents)],
            action=url_for("sessions.remove_photo", photo_id=photo.id),
            button="Remove this photo",
            form=form,
        )
    name, session_id, teacher_id = photo.original_filename, session.id, current_teacher_id()
    with UnitOfWork(teacher_id) as work:
        contents, changes = removal.remove_photo(db(), photo, teacher_id)
        for key in contents.keys:
            work.remove_after_commit(key)
        audit(
            "session_photo_deleted", teacher_id, f"photo_id={photo_id} session_id={session_id} faces={contents.faces}"
        )
    flash(f"{name} was removed from the session with its {removal.plural(contents.faces, 'face')}.", "success")
    if changes:
        listed = "; ".join(f"{c.name}: {c.before.value} → {c.after.value}" for c in changes)
        flash(f"Attendance merged again from the photos that remain: {listed}.", "info")
    else:
        flash("Attendance merged again from the photos that remain: no mark changed.", "info")
    return redirect(_review(session_id)), 303
