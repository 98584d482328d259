"""The review page's actions: confirm, reject or assign a face; mark a student by hand.

Every action is a POST form with a CSRF token that works without JavaScript (redirect back to the
page with a message); review.js sends the same forms with `Accept: application/json`.
"""

from __future__ import annotations

from typing import Any

from flask import abort, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from attendance_shared.models import AttendanceSession, AttendanceStatus, DetectedFace
from attendance_shared.records import is_enrolled

from ..auth.user import current_teacher_id
from ..extensions import db
from ..ownership import owned_face, owned_session, owned_student
from ..responses import answer
from . import bp, corrections
from .forms import ActionForm, AssignFaceForm, MarkForm


def _page(session_id: int, anchor: str = "") -> str:
    return url_for("sessions.show", session_id=session_id) + (f"#{anchor}" if anchor else "")


def _enrolled_student_id(session: AttendanceSession, student_id: int) -> int:
    """The student must be the teacher's and in this session's course; anything else is a 404."""
    student = owned_student(student_id)
    if not is_enrolled(db(), session.course_id, student.id):
        abort(404)
    return student.id


def _done(outcome: corrections.Outcome, session_id: int, anchor: str) -> ResponseReturnValue:
    db().commit()
    record = outcome.record
    extra: dict[str, Any] = {"student_id": record.student_id, "status": record.status.value} if record else {}
    return answer(outcome.message, _page(session_id, anchor), **extra)


def _refused(message: str, session_id: int, anchor: str) -> ResponseReturnValue:
    db().rollback()
    return answer(message, _page(session_id, anchor), ok=False, http_status=409)


def _face_action(face: DetectedFace, action: str) -> ResponseReturnValue:
    session_id = face.photo.session_id
    anchor = f"face-{face.id}"
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        if action == "confirm":
            outcome = corrections.confirm_face(db(), face, current_teacher_id())
        else:
            outcome = corrections.reject_face(db(), face, current_teacher_id())
    except corrections.ReviewRefused as exc:
        return _refused(str(exc), session_id, anchor)
    return _done(outcome, session_id, anchor)


@bp.route("/faces/<int:face_id>/confirm", methods=["POST"])
@login_required
def confirm_face(face_id: int) -> ResponseReturnValue:
    return _face_action(owned_face(face_id), "confirm")


@bp.route("/faces/<int:face_id>/reject", methods=["POST"])
@login_required
def reject_face(face_id: int) -> ResponseReturnValue:
    return _face_action(owned_face(face_id), "reject")


@bp.route("/faces/<int:face_id>/assign", methods=["POST"])
@login_required
def assign_face(face_id: int) -> ResponseReturnValue:
    face = owned_face(face_id)
    session = face.photo.session
    form = AssignFaceForm()
    if not form.validate_on_submit():
        message = " ".join(str(e) for errs in form.errors.values() for e in errs) or "Please choose a student."
        return answer(message, _page(session.id, f"face-{face.id}"), ok=False, http_status=400)
    student_id = _enrolled_student_id(session, int(form.student_id.data))
    try:
        outcome = corrections.assign_face(db(), face, student_id, current_teacher_id())
    except corrections.ReviewRefused as exc:
        return _refused(str(exc), session.id, f"face-{face.id}")
    return _done(outcome, session.id, f"face-{face.id}")


@bp.route("/sessions/<int:session_id>/students/<int:student_id>/mark", methods=["POST"])
@login_required
def mark(session_id: int, student_id: int) -> ResponseReturnValue:
    session = owned_session(session_id)
    student_id = _enrolled_student_id(session, student_id)
    form = MarkForm()
    anchor = f"student-{student_id}"
    if not form.validate_on_submit():
        message = " ".join(str(e) for errs in form.errors.values() for e in errs) or "Please choose a status."
        return answer(message, _page(session.id, anchor), ok=False, http_status=400)
    status = AttendanceStatus(form.status.data)
    outcome = corrections.set_status(db(), session.id, student_id, status, current_teacher_id(), form.note.data or "")
    return _done(outcome, session.id, anchor)
