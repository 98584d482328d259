from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from attendance_shared.models import Course, CourseTeacher, Student, Teacher
from attendance_shared.records import waiting_by_session

from ..audit import audit
from ..auth.user import current_teacher_id
from ..extensions import db
from ..ids import parse_id
from ..ownership import managed_course, owned_course
from ..photos import remove_photos
from ..sessions.dashboard_data import build_dashboard
from ..sessions.forms import SessionForm
from ..sessions.review_page import recognisable
from . import bp
from .forms import CourseForm, DeleteForm, StudentForm, TeacherChoiceForm


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


def _sharing(course: Course) -> dict[str, object]:
    """Who teaches the course, and for its owner or the school's admin the forms to share and transfer it."""
    manages = course.teacher_id == current_teacher_id() or (
        bool(current_user.is_admin) and course.teacher.school_id == current_user.school_id
    )
    if not manages:
        return {"manages": False}
    colleagues = list(
        db().scalars(
            select(Teacher)
            .where(Teacher.school_id == course.teacher.school_id, Teacher.disabled_at.is_(None))
            .order_by(Teacher.name)
        )
    )
    shared = {t.id for t in course.co_teachers}
    share_form = TeacherChoiceForm(formdata=None, prefix="share")
    share_form.teacher_id.choices = [  # (id, name)
        (t.id, t.name) for t in colleagues if t.id != course.teacher_id and t.id not in shared
    ]
    share_form.teacher_id.label.text = "Share with"
    transfer_form = TeacherChoiceForm(formdata=None, prefix="transfer")
    transfer_form.teacher_id.label.text = "Give the course to (a new owner)"
    transfer_form.teacher_id.choices = [(t.id, t.name) for t in colleagues if t.id != course.teacher_id]
    return {
        "manages": True,
        "share_form": share_form,
        "transfer_form": transfer_form if current_user.is_admin else None,
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
        sharing=_sharing(course),
    )


@bp.route("/courses/<int:course_id>")
@login_required
def show(course_id: int) -> ResponseReturnValue:
    return course_page(owned_course(course_id))


@bp.route("/courses/<int:course_id>/edit", methods=["POST"])
@login_required
def edit(course_id: int) -> ResponseReturnValue:
    course = managed_course(course_id)
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
    course = managed_course(course_id)
    if DeleteForm().validate_on_submit():
        keys = [k for s in course.sessions for p in s.photos for k in (p.storage_key, p.annotated_key)]
        audit("course_deleted", current_teacher_id(), f"course_id={course.id} sessions={len(course.sessions)}")
        db().delete(course)
        db().commit()
        remove_photos(keys)
        flash(f"Course {course.name} deleted.", "success")
    return redirect(url_for("courses.dashboard"))


def _colleague(course: Course, prefix: str) -> Teacher | None:
    """The teacher chosen in the form (CSRF checked by CSRFProtect), when they are an enabled teacher of the course's
    school; None for anything else, a forged id of another school's teacher included."""
    teacher_id = parse_id(request.form.get(f"{prefix}-teacher_id"))
    teacher = db().get(Teacher, teacher_id) if teacher_id else None
    if teacher is None or teacher.school_id != course.teacher.school_id or teacher.disabled_at is not None:
        return None
    return teacher


@bp.route("/courses/<int:course_id>/teachers", methods=["POST"])
@login_required
def share(course_id: int) -> ResponseReturnValue:
    """Share the course with a teacher of its school: they take attendance and review in it."""
    course = managed_course(course_id)
    teacher = _colleague(course, "share")
    if teacher is None:
        flash("Choose a teacher of your school to share this course with.", "error")
    elif teacher.id != course.teacher_id and db().get(CourseTeacher, (course.id, teacher.id)) is None:
        db().add(CourseTeacher(course_id=course.id, teacher_id=teacher.id))
        audit("course_shared", current_teacher_id(), f"course_id={course.id} with={teacher.id}")
        db().commit()
        flash(f"{course.name} is shared with {teacher.name}: they can take attendance and review.", "success")
    return redirect(url_for("courses.show", course_id=course.id), 303)


@bp.route("/courses/<int:course_id>/teachers/<int:teacher_id>/remove", methods=["POST"])
@login_required
def unshare(course_id: int, teacher_id: int) -> ResponseReturnValue:
    course = managed_course(course_id)
    link = db().get(CourseTeacher, (course.id, teacher_id))
    if link is None:
        abort(404)
    teacher = db().get(Teacher, teacher_id)
    db().delete(link)
    audit("course_unshared", current_teacher_id(), f"course_id={course.id} with={teacher_id}")
    db().commit()
    flash(f"{teacher.name if teacher else 'That teacher'} no longer teaches {course.name}.", "success")
    return redirect(url_for("courses.show", course_id=course.id), 303)


@bp.route("/courses/<int:course_id>/transfer", methods=["POST"])
@login_required
def transfer(course_id: int) -> ResponseReturnValue:
    """An admin gives the course to another teacher of the school; the former owner keeps teaching it, shared."""
    course = managed_course(course_id)
    if not current_user.is_admin:
        abort(404)
    teacher = _colleague(course, "transfer")
    if teacher is None or teacher.id == course.teacher_id:
        flash("Choose another teacher of your school to give this course to.", "error")
        return redirect(url_for("courses.show", course_id=course.id), 303)
    clash = db().scalar(select(Course.id).where(Course.teacher_id == teacher.id, Course.name == course.name))
    if clash is not None:
        flash(f"{teacher.name} already has a course called {course.name}: rename one of them first.", "error")
        return redirect(url_for("courses.show", course_id=course.id), 303)
    former = course.teacher_id
    existing = db().get(CourseTeacher, (course.id, teacher.id))
    if existing is not None:
        db().delete(existing)
    course.teacher_id = teacher.id
    db().flush()
    if db().get(CourseTeacher, (course.id, former)) is None:
        db().add(CourseTeacher(course_id=course.id, teacher_id=former))
    audit("course_transferred", current_teacher_id(), f"course_id={course.id} from={former} to={teacher.id}")
    db().commit()
    flash(f"{course.name} is now {teacher.name}'s course; its former teacher still teaches it.", "success")
    return redirect(url_for("courses.show", course_id=course.id), 303)
