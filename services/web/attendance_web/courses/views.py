from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from attendance_shared.models import Course, Student
from attendance_shared.records import waiting_by_session

from ..audit import audit
from ..auth.user import current_teacher_id
from ..extensions import db
from ..ownership import owned_course
from ..photos import remove_photos
from ..sessions.dashboard_data import build_dashboard
from ..sessions.forms import SessionForm
from ..sessions.review_page import recognisable
from . import bp
from .forms import CourseForm, DeleteForm, StudentForm


@bp.route("/")
@login_required
def dashboard() -> ResponseReturnValue:
    """My courses, today's sessions with present counts, recent jobs with their state."""
    data = build_dashboard(current_teacher_id(), url_for)
    return render_template("courses/dashboard.html", data=data, form=CourseForm())


@bp.route("/courses", methods=["POST"])
@login_required
def create() -> ResponseReturnValue:
    form = CourseForm()
    if form.validate_on_submit():
        course = Course(teacher_id=current_teacher_id(), name=form.name.data.strip(), code=(form.code.data or None))
        db().add(course)
        try:
            db().commit()
        except IntegrityError:
            db().rollback()
            flash(f"You already have a course called {form.name.data}.", "error")
            return redirect(url_for("courses.dashboard"))
        flash(f"Course {course.name} created. Add your students next.", "success")
        return redirect(url_for("courses.show", course_id=course.id))
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")
    return redirect(url_for("courses.dashboard"))


def _waiting(course: Course) -> dict[int, list[tuple[Student, int]]]:
    """Per session, the students waiting for the teacher's confirmation, with their face (records.waiting_by_session),
    by name: they are not absent until the teacher decides."""
    by_session = waiting_by_session(db(), [s.id for s in course.sessions])
    ids = {student_id for students in by_session.values() for student_id in students}
    students = {st.id: st for st in db().scalars(select(Student).where(Student.id.in_(ids)))} if ids else {}
    return {
        session_id: sorted(((students[sid], face) for sid, face in found.items()), key=lambda p: p[0].name.casefold())
        for session_id, found in by_session.items()
        if found
    }


def course_page(course: Course, *, student_form: StudentForm | None = None) -> str:
    """The course page; with `student_form`, the "Add a student" form as sent, showing its errors."""
    return render_template(
        "courses/show.html",
        course=course,
        recognisable=recognisable(s.id for s in course.students),
        waiting=_waiting(course),
        student_form=student_form or StudentForm(formdata=None),
        session_form=SessionForm(formdata=None),
        course_form=CourseForm(obj=course, formdata=None),
        delete_form=DeleteForm(),
    )


@bp.route("/courses/<int:course_id>")
@login_required
def show(course_id: int) -> ResponseReturnValue:
    return course_page(owned_course(course_id))


@bp.route("/courses/<int:course_id>/edit", methods=["POST"])
@login_required
def edit(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    form = CourseForm()
    if form.validate_on_submit():
        course.name = form.name.data.strip()
        course.code = form.code.data or None
        try:
            db().commit()
            flash("Course saved.", "success")
        except IntegrityError:
            db().rollback()
            flash(f"You already have a course called {form.name.data}.", "error")
    return redirect(url_for("courses.show", course_id=course_id))


@bp.route("/courses/<int:course_id>/delete", methods=["POST"])
@login_required
def delete(course_id: int) -> ResponseReturnValue:
    course = owned_course(course_id)
    if DeleteForm().validate_on_submit():
        keys = [k for s in course.sessions for p in s.photos for k in (p.storage_key, p.annotated_key)]
        audit("course_deleted", current_teacher_id(), f"course_id={course.id} sessions={len(course.sessions)}")
        db().delete(course)
        db().commit()
        remove_photos(keys)
        flash(f"Course {course.name} deleted.", "success")
    return redirect(url_for("courses.dashboard"))
