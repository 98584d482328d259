"""Fetch by id *and* access in one query: what the signed-in teacher may not reach answers 404, never 403.

Who reaches what, in one place:
- a course: its owner, the teachers it is shared with (co-teachers), and the admins of the owner's school;
- a student: their owner, the teachers of any course they are enrolled in, and the admins of the owner's school;
  a teacher who reaches a student only through a course sees that course's marks of them, not the rest;
- sessions, photos and faces: whoever reaches their course.
Only the owner or an admin *manages* a course or a student (renames, shares, transfers, deletes a course, its
sessions or its students; renames, deletes or exports a student, deletes their portraits): managed_course and
managed_student. A job is its uploader's: its progress page is theirs.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, or_, select

from attendance_shared.models import (
    AttendanceSession,
    Course,
    CourseTeacher,
    DetectedFace,
    Enrollment,
    Job,
    SessionPhoto,
    Student,
    StudentPhoto,
    Teacher,
)

from .extensions import db
from .signed_in import current_teacher_id

T = TypeVar("T")


def _one_or_404(stmt: Select[Any]) -> Any:
    obj = db().scalar(stmt)
    if obj is None:
        abort(404)
    return obj


def _is_admin() -> bool:
    return bool(getattr(current_user, "is_admin", False))


def _school_teachers() -> Select[int]:
    return select(Teacher.id).where(Teacher.school_id == current_user.school_id)


def managed_courses() -> ColumnElement[bool]:
    """Courses the signed-in teacher owns, or all of their school's when they are its admin."""
    mine = Course.teacher_id == current_teacher_id()
    return or_(mine, Course.teacher_id.in_(_school_teachers())) if _is_admin() else mine


def visible_courses() -> ColumnElement[bool]:
    """Courses the signed-in teacher reaches: managed ones and those shared with them."""
    shared = select(CourseTeacher.course_id).where(CourseTeacher.teacher_id == current_teacher_id())
    return or_(managed_courses(), Course.id.in_(shared))


def managed_students() -> ColumnElement[bool]:
    """Students the signed-in teacher owns, or all the school's for its admin. Teaching a course a student is in is
    not enough: the student may be in other teachers' courses too (a SIS import keeps one row per pupil), and
    deleting or renaming them reaches every one of those."""
    mine = Student.teacher_id == current_teacher_id()
    return or_(mine, Student.teacher_id.in_(_school_teachers())) if _is_admin() else mine


def visible_students() -> ColumnElement[bool]:
    in_reach = select(Enrollment.student_id).join(Course).where(visible_courses())
    return or_(managed_students(), Student.id.in_(in_reach))


def owned_course(course_id: int) -> Course:
    """A course the teacher reaches (takes attendance in, reviews, reports on)."""
    return _one_or_404(select(Course).where(Course.id == course_id, visible_courses()))  # type: ignore[no-any-return]


def managed_course(course_id: int) -> Course:
    """A course the teacher may rename, share, transfer or delete: its owner or the school's admin."""
    return _one_or_404(select(Course).where(Course.id == course_id, managed_courses()))  # type: ignore[no-any-return]


def owned_student(student_id: int) -> Student:
    return _one_or_404(select(Student).where(Student.id == student_id, visible_students()))  # type: ignore[no-any-return]


def managed_student(student_id: int) -> Student:
    """A student the teacher may delete (with every photo and face of theirs)."""
    return _one_or_404(select(Student).where(Student.id == student_id, managed_students()))  # type: ignore[no-any-return]


def owned_student_photo(photo_id: int) -> StudentPhoto:
    stmt = select(StudentPhoto).join(Student).where(StudentPhoto.id == photo_id, visible_students())
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_session(session_id: int) -> AttendanceSession:
    stmt = select(AttendanceSession).join(Course).where(AttendanceSession.id == session_id, visible_courses())
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_session_photo(photo_id: int) -> SessionPhoto:
    stmt = (
        select(SessionPhoto).join(AttendanceSession).join(Course).where(SessionPhoto.id == photo_id, visible_courses())
    )
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_face(face_id: int) -> DetectedFace:
    stmt = (
        select(DetectedFace)
        .join(SessionPhoto)
        .join(AttendanceSession)
        .join(Course)
        .where(DetectedFace.id == face_id, visible_courses())
    )
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_job(job_id: str) -> Job:
    return _one_or_404(select(Job).where(Job.id == job_id, Job.teacher_id == current_teacher_id()))  # type: ignore[no-any-return]


def school_admin() -> Teacher:
    """The signed-in teacher when they are their school's admin (the School, SIS and sign-in pages); anyone else
    gets 404, as for anything that is not theirs."""
    teacher = db().get(Teacher, current_teacher_id())
    if teacher is None or not teacher.is_admin:
        abort(404)
    return teacher
