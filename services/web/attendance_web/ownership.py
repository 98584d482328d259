"""Fetch by id *and* owner in one query: another teacher's ids answer 404, never 403 (no probing)."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from sqlalchemy import Select, select

from attendance_shared.models import (
    AttendanceSession,
    Course,
    DetectedFace,
    Job,
    SessionPhoto,
    Student,
    StudentPhoto,
)

from .auth.user import current_teacher_id
from .extensions import db

T = TypeVar("T")


def _one_or_404(stmt: Select[Any]) -> Any:
    obj = db().scalar(stmt)
    if obj is None:
        abort(404)
    return obj


def owned_course(course_id: int) -> Course:
    return _one_or_404(select(Course).where(Course.id == course_id, Course.teacher_id == current_teacher_id()))  # type: ignore[no-any-return]


def owned_student(student_id: int) -> Student:
    return _one_or_404(select(Student).where(Student.id == student_id, Student.teacher_id == current_teacher_id()))  # type: ignore[no-any-return]


def owned_student_photo(photo_id: int) -> StudentPhoto:
    stmt = (
        select(StudentPhoto)
        .join(Student)
        .where(StudentPhoto.id == photo_id, Student.teacher_id == current_teacher_id())
    )
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_session(session_id: int) -> AttendanceSession:
    stmt = (
        select(AttendanceSession)
        .join(Course)
        .where(AttendanceSession.id == session_id, Course.teacher_id == current_teacher_id())
    )
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_session_photo(photo_id: int) -> SessionPhoto:
    stmt = (
        select(SessionPhoto)
        .join(AttendanceSession)
        .join(Course)
        .where(SessionPhoto.id == photo_id, Course.teacher_id == current_teacher_id())
    )
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_face(face_id: int) -> DetectedFace:
    stmt = (
        select(DetectedFace)
        .join(SessionPhoto)
        .join(AttendanceSession)
        .join(Course)
        .where(DetectedFace.id == face_id, Course.teacher_id == current_teacher_id())
    )
    return _one_or_404(stmt)  # type: ignore[no-any-return]


def owned_job(job_id: str) -> Job:
    return _one_or_404(select(Job).where(Job.id == job_id, Job.teacher_id == current_teacher_id()))  # type: ignore[no-any-return]
