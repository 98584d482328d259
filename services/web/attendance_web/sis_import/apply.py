"""Confirming a OneRoster import: accounts linked, invitations made, courses, students, enrollments, co-teachers.

All in the caller's transaction (one commit, or nothing); the invitation tokens are returned so the page can show
each link once and mail it after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from attendance_shared.models import Course, CourseTeacher, Enrollment, Student, Teacher, TeacherRole

from ..school import links
from .plan import SisPlan, _chunks


@dataclass(frozen=True)
class Invited:
    email: str
    name: str
    token: str


def apply_plan(session: Session, plan: SisPlan, admin: Teacher) -> list[Invited]:
    for t in plan.matched_teachers:
        account = session.get(Teacher, t.existing_id)
        assert account is not None
        account.sourced_id = t.person.sourced_id
    invited = [
        Invited(
            t.person.email.casefold(),
            t.person.name,
            links.invite(
                school_id=admin.school_id, email=t.person.email.casefold(), role=TeacherRole.TEACHER, by=admin.id
            ),
        )
        for t in plan.invitations
    ]
    courses: dict[str, Course] = {}
    for c in plan.courses:
        if c.existing_id is None:
            course = Course(teacher_id=c.owner_id, name=c.name, code=c.code, sourced_id=c.klass.sourced_id)
            session.add(course)
        else:
            stored = session.get(Course, c.existing_id)
            assert stored is not None
            course = stored
            if c.changes:
                course.teacher_id, course.name, course.code = c.owner_id, c.name, c.code
        courses[c.klass.sourced_id] = course
    students: dict[str, Student] = {}
    existing_ids = [s.existing_id for s in plan.students if s.existing_id is not None]
    loaded: dict[int, Student] = {}
    for chunk in _chunks(existing_ids):
        loaded.update((s.id, s) for s in session.scalars(select(Student).where(Student.id.in_(chunk))))
    for s in plan.students:
        name = (s.person.name or s.number)[:120]
        if s.existing_id is None:
            student = Student(
                teacher_id=s.owner_id,
                name=name,
                student_number=s.number,
                email=s.person.email[:254] or None,
                sourced_id=s.person.sourced_id,
            )
            session.add(student)
        else:
            student = loaded[s.existing_id]
            if s.changes:
                student.name, student.sourced_id = name, s.person.sourced_id
                student.email = s.person.email[:254] or student.email
        students[s.person.sourced_id] = student
    session.flush()
    for cid, tid in plan.unshare:
        session.execute(delete(CourseTeacher).where(CourseTeacher.course_id == cid, CourseTeacher.teacher_id == tid))
    for class_sid, tid in plan.share:
        session.add(CourseTeacher(course_id=courses[class_sid].id, teacher_id=tid))
    for chunk in _chunks(plan.unenroll):  # type: ignore[arg-type]
        session.execute(delete(Enrollment).where(tuple_(Enrollment.course_id, Enrollment.student_id).in_(chunk)))
    school = select(Teacher.id).where(Teacher.school_id == admin.school_id)
    student_ids = dict(  # one student per sourcedId in the school (plan.py)
        session.execute(
            select(Student.sourced_id, Student.id).where(
                Student.teacher_id.in_(school), Student.sourced_id.is_not(None)
            )
        ).all()
    )
    stored_courses = {
        c.sourced_id: c.id
        for c in session.scalars(
            select(Course).where(
                Course.teacher_id.in_(school),
                Course.sourced_id.is_not(None),
            )
        )
    }
    pairs = {
        (
            courses[cs].id if cs in courses else stored_courses[cs],
            students[us].id if us in students else student_ids[us],
        )
        for cs, us in plan.enroll
    }
    session.add_all(Enrollment(course_id=cid, student_id=sid) for cid, sid in sorted(pairs))
    session.flush()
    return invited
