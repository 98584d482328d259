"""Co-teachers: a course shared within its school; the admin sees and transfers every course of the school.

Whoever reaches a course takes attendance and reviews in it; only its owner or an admin renames, shares or deletes
it or deletes its students; a teacher of the same school it is not shared with gets 404, as another school does.
"""

from __future__ import annotations

from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import Course, Student, Teacher
from tests.conftest import TeacherClient
from tests.web.test_school import _db, _invite, _join, _sign_in


def _school(app, teacher_factory) -> tuple[TeacherClient, TeacherClient, TeacherClient, TeacherClient]:
    """Ada (admin) and three teachers she invited: Ben, Cy and Dee."""
    ada = teacher_factory("Ada")
    teachers = []
    for name in ("Ben", "Cy", "Dee"):
        address = f"{name.lower()}-{id(ada)}@school.example.org"
        _join(app, _invite(ada, address), name)
        teachers.append(_sign_in(app, address))
    return ada, *teachers  # type: ignore[return-value]


def _teacher_id(app, who: TeacherClient) -> int:
    with session_scope(_db(app)) as s:
        return int(s.scalar(select(Teacher.id).where(Teacher.email == who.email)))


def test_a_shared_course_is_taught_by_both_but_managed_by_its_owner(app, teacher_factory, jobs_not_sent):
    _ada, ben, cy, dee = _school(app, teacher_factory)
    course = ben.create_course("Biology")
    ann = ben.add_student(course, "Ann", "1")
    assert cy.client.get(f"/courses/{course}").status_code == 404
    r = ben.client.post(f"/courses/{course}/teachers", data={"share-teacher_id": _teacher_id(app, cy)})
    assert r.status_code == 303
    assert b"Ben&#39;s course" in cy.client.get("/").data or b"Ben's course" in cy.client.get("/").data
    page = cy.client.get(f"/courses/{course}")
    assert page.status_code == 200 and b"Share this course" not in page.data and b"Delete this course" not in page.data
    # Cy teaches it: adds a student (the owner's, numbered in Ben's list) and takes attendance
    bo = cy.add_student(course, "Bo", "2")
    with session_scope(_db(app)) as s:
        assert s.get(Student, bo).teacher_id == _teacher_id(app, ben)
    job = cy.take_attendance(course, (_jpeg(), "room.jpg"))
    assert job and cy.client.get(f"/jobs/{job}").status_code == 200
    assert cy.client.get(f"/students/{ann}").status_code == 200
    # ...but does not manage it
    assert cy.client.post(f"/courses/{course}/delete").status_code == 404
    assert cy.client.post(f"/students/{ann}/delete").status_code == 404
    assert cy.client.post(f"/courses/{course}/edit", data={"name": "Mine"}).status_code == 404
    # Dee, same school, not shared: nothing
    for path in (f"/courses/{course}", f"/students/{ann}", f"/courses/{course}/sessions/new"):
        assert dee.client.get(path).status_code == 404, path
    # Ben stops sharing: Cy is out again
    ben.client.post(f"/courses/{course}/teachers/{_teacher_id(app, cy)}/remove")
    assert cy.client.get(f"/courses/{course}").status_code == 404


def test_the_admin_sees_every_course_of_the_school_and_transfers_one(app, teacher_factory):
    ada, ben, cy, _dee = _school(app, teacher_factory)
    course = ben.create_course("Chemistry")
    ben.add_student(course, "Ann", "1")
    assert b"Chemistry" in ada.client.get("/").data
    page = ada.client.get(f"/courses/{course}")
    assert page.status_code == 200 and b"Give this course to this teacher" in page.data
    r = ada.client.post(f"/courses/{course}/transfer", data={"transfer-teacher_id": _teacher_id(app, cy)})
    assert r.status_code == 303
    with session_scope(_db(app)) as s:
        moved = s.get(Course, course)
        assert moved.teacher_id == _teacher_id(app, cy)
        assert [t.name for t in moved.co_teachers] == ["Ben"]  # the former owner keeps teaching it
    assert b"Delete this course" in cy.client.get(f"/courses/{course}").data
    assert b"Delete this course" not in ben.client.get(f"/courses/{course}").data
    # only an admin transfers
    assert ben.client.post(f"/courses/{course}/transfer", data={"transfer-teacher_id": 1}).status_code == 404


def test_a_course_cannot_be_shared_with_another_schools_teacher(app, teacher_factory):
    ada, ben, _cy, _dee = _school(app, teacher_factory)
    outsider = teacher_factory("Olga")
    course = ben.create_course("Art")
    r = ben.client.post(
        f"/courses/{course}/teachers", data={"share-teacher_id": _teacher_id(app, outsider)}, follow_redirects=True
    )
    assert b"Choose a teacher of your school" in r.data
    assert outsider.client.get(f"/courses/{course}").status_code == 404
    assert ada.client.get(f"/courses/{course}").status_code == 200


def _jpeg() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 90, 60)).save(buf, "JPEG")
    return buf.getvalue()


def test_a_co_teacher_corrects_but_never_deletes_or_exports(app, teacher_factory, jobs_not_sent):
    """Sessions, portraits, enrollments and the subject-access export are the owner's (or the admin's) to remove."""
    _ada, ben, cy, _dee = _school(app, teacher_factory)
    course = ben.create_course("History")
    ann = ben.add_student(course, "Ann", "1")
    ben.upload_portraits(ann, (_jpeg(), "ann.jpg"))
    ben.take_attendance(course, (_jpeg(), "room.jpg"))
    ben.client.post(f"/courses/{course}/teachers", data={"share-teacher_id": _teacher_id(app, cy)})
    with session_scope(_db(app)) as s:
        from attendance_shared.models import AttendanceSession, StudentPhoto

        session_id = s.scalar(select(AttendanceSession.id).where(AttendanceSession.course_id == course))
        portrait = s.scalar(select(StudentPhoto.id).where(StudentPhoto.student_id == ann))
    assert cy.client.get(f"/sessions/{session_id}").status_code == 200
    for path in (
        f"/sessions/{session_id}/delete",
        f"/courses/{course}/students/{ann}/remove",
        f"/student-photos/{portrait}/delete",
        f"/students/{ann}/edit",
    ):
        assert cy.client.post(path, data={"name": "Renamed", "student_number": "1"}).status_code == 404, path
    assert cy.client.get(f"/students/{ann}/export").status_code == 404
    assert ben.client.get(f"/students/{ann}/export").status_code == 200


def test_teaching_one_of_a_pupils_courses_does_not_make_them_yours(app, teacher_factory):
    """A SIS import keeps one row per pupil across teachers' courses: Ben, who owns Maths, reaches Ann there, sees
    only Maths in her report, and cannot delete or rename her (she is in Cy's Art too)."""
    _ada, ben, cy, _dee = _school(app, teacher_factory)
    art = cy.create_course("Art")
    ann = cy.add_student(art, "Ann", "1")
    cy.take_attendance(art, (_jpeg(), "art.jpg"), label="Art lesson")
    maths = ben.create_course("Maths")
    with session_scope(_db(app)) as s:
        from attendance_shared.models import Enrollment

        s.add(Enrollment(course_id=maths, student_id=ann))
    ben.take_attendance(maths, (_jpeg(), "maths.jpg"), label="Maths lesson")
    assert ben.client.get(f"/students/{ann}").status_code == 200
    report = ben.client.get(f"/reports/students/{ann}").get_data(as_text=True)
    assert "Maths" in report and "Art lesson" not in report
    assert ben.client.post(f"/students/{ann}/delete").status_code == 404
    assert ben.client.post(f"/students/{ann}/edit", data={"name": "X", "student_number": "1"}).status_code == 404
    assert cy.client.get(f"/students/{ann}").status_code == 200


def test_a_transferred_course_keeps_its_students_in_its_reports(app, teacher_factory, jobs_not_sent):
    ada, _ben, cy, _dee = _school(app, teacher_factory)
    course = ada.create_course("Science")
    ada.add_student(course, "Ann", "1")
    ada.add_student(course, "Bo", "2")
    ada.take_attendance(course, (_jpeg(), "room.jpg"))
    ada.client.post(f"/courses/{course}/transfer", data={"transfer-teacher_id": _teacher_id(app, cy)})
    report = cy.client.get(f"/reports/courses/{course}").get_data(as_text=True)
    assert "Ann" in report and "Bo" in report
    school = ada.client.get("/school/report").get_data(as_text=True)
    assert "Science" in school
