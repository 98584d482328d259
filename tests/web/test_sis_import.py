"""The admin's OneRoster import (preview writes nothing, confirm creates, the same file again changes nothing, a
delta removes) and the attendance export keyed by sourcedIds; only the school's admin reaches any of it."""

from __future__ import annotations

import datetime as dt
import io
import re
import time

import pytest
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AccountLink,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    CourseTeacher,
    Enrollment,
    Student,
    Teacher,
)
from tests.oneroster_files import OneRosterSet, school_set

PASSWORD = "correct horse battery"


def _db(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def _upload(admin, roster: OneRosterSet) -> str:
    data = {"roster_zip": (io.BytesIO(roster.to_zip()), "oneroster.zip")}
    r = admin.client.post("/school/sis/imports", data=data, content_type="multipart/form-data")
    assert r.status_code == 303 and "/school/sis/imports/" in r.location, r.data[:500]
    return r.location.rsplit("/", 1)[-1]


def _counts(app, school_admin_email: str) -> dict[str, int]:
    with session_scope(_db(app)) as s:
        school_id = s.scalar(select(Teacher.school_id).where(Teacher.email == school_admin_email))
        teachers = select(Teacher.id).where(Teacher.school_id == school_id)
        courses = select(Course.id).where(Course.teacher_id.in_(teachers))
        return {
            "courses": s.scalar(select(func.count()).select_from(Course).where(Course.teacher_id.in_(teachers))),
            "students": s.scalar(select(func.count()).select_from(Student).where(Student.teacher_id.in_(teachers))),
            "enrollments": s.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.course_id.in_(courses))
            ),
            "invitations": s.scalar(
                select(func.count()).select_from(AccountLink).where(AccountLink.school_id == school_id)
            ),
            "co_teachers": s.scalar(
                select(func.count()).select_from(CourseTeacher).where(CourseTeacher.course_id.in_(courses))
            ),
        }


def test_preview_writes_nothing_confirm_creates_and_the_same_file_again_changes_nothing(app, teacher_factory):
    admin = teacher_factory("Ada")
    roster = school_set(students=3)
    before = _counts(app, admin.email)
    import_id = _upload(admin, roster)
    page = admin.client.get(f"/school/sis/imports/{import_id}")
    assert page.status_code == 200
    assert b"1 class(es) to create as courses" in page.data and b"3 student(s) to create" in page.data
    assert b"1 teacher(s) to invite" in page.data and b"Biology 7B" in page.data
    assert _counts(app, admin.email) == before  # the preview wrote nothing

    r = admin.client.post(f"/school/sis/imports/{import_id}/confirm")
    assert r.status_code == 200, r.data[:800]
    links = re.findall(rb'class="invitation-link" type="text" value="([^"]+)"', r.data)
    assert len(links) == 1 and b"jordan.lee@lincoln.example.org" in r.data
    after = _counts(app, admin.email)
    assert after == {**before, "courses": 1, "students": 3, "enrollments": 3, "invitations": 1}
    with session_scope(_db(app)) as s:
        me = s.scalar(select(Teacher).where(Teacher.email == admin.email))
        course = s.scalar(select(Course).where(Course.teacher_id == me.id, Course.sourced_id == "class-1"))
        assert course.name == "Biology 7B" and course.code == "BIO7-B"  # no account yet: the admin's for now
        numbers = s.scalars(select(Student.student_number).where(Student.teacher_id == me.id)).all()
        assert sorted(numbers) == ["S2001", "S2002", "S2003"]  # identifier as student number
    # the invitation is listed on the School page
    assert b"jordan.lee@lincoln.example.org" in admin.client.get("/school").data
    # a second confirm is refused, and the same file again changes nothing (no second invitation either)
    assert admin.client.post(f"/school/sis/imports/{import_id}/confirm").status_code == 303
    again = _upload(admin, roster)
    page = admin.client.get(f"/school/sis/imports/{again}")
    assert b"confirming would change nothing" in page.data
    r = admin.client.post(f"/school/sis/imports/{again}/confirm")
    assert r.status_code == 200 and b"Nothing was imported" in r.data
    assert _counts(app, admin.email) == after


def test_classes_go_to_their_teachers_with_co_teachers_and_a_delta_removes_enrollments(app, teacher_factory):
    admin = teacher_factory("Ada")
    lee, kim = teacher_factory("Lee"), teacher_factory("Kim")
    with session_scope(_db(app)) as s:  # both join the admin's school
        school_id = s.scalar(select(Teacher.school_id).where(Teacher.email == admin.email))
        for t in s.scalars(select(Teacher).where(Teacher.email.in_([lee.email, kim.email]))):
            t.school_id = school_id
    roster = school_set(students=3)
    roster.rows["users.csv"][0]["email"] = lee.email.upper()  # matched by e-mail, whatever its case
    roster.add("users.csv", sourcedId="t-2", enabledUser="true", givenName="Kim", familyName="Park", email=kim.email)
    roster.add("roles.csv", sourcedId="r-t-2", userSourcedId="t-2", roleType="primary", role="teacher",
               orgSourcedId="org-1")  # fmt: skip
    roster.add("enrollments.csv", sourcedId="e-t-2", classSourcedId="class-1", schoolSourcedId="org-1",
               userSourcedId="t-2", role="teacher", primary="false")  # fmt: skip
    admin.client.post(f"/school/sis/imports/{_upload(admin, roster)}/confirm")
    with session_scope(_db(app)) as s:
        course = s.scalar(select(Course).where(Course.sourced_id == "class-1", Course.teacher_id.in_(
            select(Teacher.id).where(Teacher.school_id == school_id))))  # fmt: skip
        assert course.teacher.email == lee.email
        assert [t.email for t in course.co_teachers] == [kim.email]
        assert {st.teacher_id for st in course.students} == {course.teacher_id}  # owned by the course owner
        assert s.scalar(select(Teacher.sourced_id).where(Teacher.email == lee.email)) == "t-1"
        course_id = course.id
    assert b"Biology 7B" in lee.client.get("/").data
    assert kim.client.get(f"/courses/{course_id}").status_code == 200

    delta = OneRosterSet(delta=True)
    for name in ("orgs.csv", "academicSessions.csv", "courses.csv", "classes.csv", "users.csv", "roles.csv"):
        delta.absent.add(name) if name not in ("orgs.csv", "classes.csv", "users.csv") else None
    delta.add("enrollments.csv", sourcedId="e-s-2", status="tobedeleted", dateLastModified="2026-12-05T08:00:00Z",
              classSourcedId="class-1", schoolSourcedId="org-1", userSourcedId="s-2", role="student")  # fmt: skip
    import_id = _upload(admin, delta)
    assert b"0 student(s) to create" in admin.client.get(f"/school/sis/imports/{import_id}").data
    assert admin.client.post(f"/school/sis/imports/{import_id}/confirm").status_code == 200
    with session_scope(_db(app)) as s:
        left = s.scalars(select(Student.sourced_id).join(Enrollment).where(Enrollment.course_id == course_id)).all()
        assert sorted(left) == ["s-1", "s-3"]
        assert s.scalar(select(func.count()).select_from(Student).where(Student.sourced_id == "s-2",
                        Student.teacher_id == course.teacher_id)) == 1  # fmt: skip  # the student stays


def test_a_bulk_file_without_a_student_takes_them_out_of_the_class(app, teacher_factory):
    admin = teacher_factory("Ada")
    admin.client.post(f"/school/sis/imports/{_upload(admin, school_set(students=3))}/confirm")
    smaller = school_set(students=2)
    import_id = _upload(admin, smaller)
    assert b"0 enrollment(s) to add, 1 to remove" in admin.client.get(f"/school/sis/imports/{import_id}").data
    admin.client.post(f"/school/sis/imports/{import_id}/confirm")
    assert _counts(app, admin.email)["enrollments"] == 2


def test_only_the_schools_admin_reaches_the_import(app, teacher_factory):
    admin, other_admin = teacher_factory("Ada"), teacher_factory("Olga")
    import_id = _upload(admin, school_set(students=1))
    # another school's admin: the id looks missing
    assert other_admin.client.get(f"/school/sis/imports/{import_id}").status_code == 404
    assert other_admin.client.post(f"/school/sis/imports/{import_id}/confirm").status_code == 404
    assert other_admin.client.post(f"/school/sis/imports/{import_id}/cancel").status_code == 404
    # a teacher who is not an admin: no route answers
    plain = teacher_factory("Pat")
    with session_scope(_db(app)) as s:
        t = s.scalar(select(Teacher).where(Teacher.email == plain.email))
        t.school_id = s.scalar(select(Teacher.school_id).where(Teacher.email == admin.email))
        t.role = "teacher"
    for url in (
        "/school/sis",
        f"/school/sis/imports/{import_id}",
        "/school/sis/attendance.csv?start=2026-01-01&end=2026-01-02",
    ):
        assert plain.client.get(url).status_code == 404
    for url in (
        "/school/sis/imports",
        f"/school/sis/imports/{import_id}/confirm",
        f"/school/sis/imports/{import_id}/cancel",
    ):
        assert plain.client.post(url).status_code == 404
    assert _counts(app, admin.email)["courses"] == 0


def test_a_broken_file_is_refused_in_words_and_nothing_is_kept(app, teacher_factory):
    admin = teacher_factory("Ada")
    data = {"roster_zip": (io.BytesIO(b"not a zip"), "roster.zip")}
    r = admin.client.post("/school/sis/imports", data=data, content_type="multipart/form-data", follow_redirects=True)
    assert b"Nothing was imported" in r.data and b"not a ZIP file" in r.data


def test_the_export_has_one_row_per_student_class_and_date_keyed_by_sourced_ids(app, teacher_factory):
    admin = teacher_factory("Ada")
    admin.client.post(f"/school/sis/imports/{_upload(admin, school_set(students=2))}/confirm")
    hand_made = admin.create_course("Art")
    admin.add_student(hand_made, "Manual Student", "M1")
    with session_scope(_db(app)) as s:
        me = s.scalar(select(Teacher).where(Teacher.email == admin.email))
        course = s.scalar(select(Course).where(Course.teacher_id == me.id, Course.sourced_id == "class-1"))

        for day, status in (
            (dt.date(2026, 11, 2), AttendanceStatus.PRESENT),
            (dt.date(2026, 12, 30), AttendanceStatus.ABSENT),
        ):
            session = AttendanceSession(course_id=course.id, date=day, label="P1")
            s.add(session)
            s.flush()
            for st in course.students:
                s.add(AttendanceRecord(session_id=session.id, student_id=st.id, status=status))
        art = s.get(Course, hand_made)
        other = AttendanceSession(course_id=art.id, date=dt.date(2026, 11, 2), label="P1")
        s.add(other)
        s.flush()
        s.add(AttendanceRecord(session_id=other.id, student_id=art.students[0].id, status=AttendanceStatus.PRESENT))
    r = admin.client.get("/school/sis/attendance.csv?start=2026-11-01&end=2026-11-30")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.data.decode().splitlines() == [
        "classSourcedId,userSourcedId,date,status",
        "class-1,s-1,2026-11-02,present",
        "class-1,s-2,2026-11-02,present",
    ]
    # the same file through the API, for the admin's token only
    from tests.web.test_api import Api, make_token

    api = Api(app, make_token(admin))
    assert api.get("/api/v1/school/attendance.csv?from=2026-11-01&to=2026-11-30").data == r.data
    assert api.get("/api/v1/school/attendance.csv?from=2026-11-30&to=2026-11-01").json["error"]["code"] == (
        "invalid_date_range"
    )
    assert api.get("/api/v1/school/attendance.csv?from=2026-11-01").json["error"]["code"] == "invalid_date"
    plain = teacher_factory("Pat")
    with session_scope(_db(app)) as s:
        s.scalar(select(Teacher).where(Teacher.email == plain.email)).role = "teacher"
    assert (
        Api(app, make_token(plain)).get("/api/v1/school/attendance.csv?from=2026-11-01&to=2026-11-30").status_code
        == 404
    )
    bad = admin.client.get("/school/sis/attendance.csv?start=2026-11-30&end=2026-11-01", follow_redirects=True)
    assert b"comes before" in bad.data
    page = admin.client.get("/school/sis")
    assert page.status_code == 200 and b"left out" in page.data


@pytest.mark.postgres
def test_ten_thousand_users_import(app, teacher_factory):
    admin = teacher_factory("Ada")
    roster = school_set(students=9_999)
    started = time.monotonic()
    import_id = _upload(admin, roster)
    assert b"9,999 student(s) to create" in admin.client.get(f"/school/sis/imports/{import_id}").data
    assert admin.client.post(f"/school/sis/imports/{import_id}/confirm").status_code == 200
    took = time.monotonic() - started
    counts = _counts(app, admin.email)
    assert counts["students"] == 9_999 and counts["enrollments"] == 9_999
    print(f"10,000 users: upload + preview + confirm in {took:.1f} s")


def test_portraits_named_by_sourced_id_follow_with_the_roster_import(app, teacher_factory, jobs_not_sent):
    from attendance_shared.models import StudentPhoto
    from tests.web.test_roster_import import _csv, _jpeg, _preview, _zip

    admin = teacher_factory("Ada")
    admin.client.post(f"/school/sis/imports/{_upload(admin, school_set(students=2))}/confirm")
    with session_scope(_db(app)) as s:
        me = s.scalar(select(Teacher).where(Teacher.email == admin.email))
        course_id = s.scalar(select(Course.id).where(Course.teacher_id == me.id, Course.sourced_id == "class-1"))
    photos = _zip([("s-1.jpg", _jpeg()), ("S2002.jpg", _jpeg((10, 20, 30)))])
    import_id, page = _preview(admin, course_id, _csv("S2001,Avery1 Smith,", "S2002,Avery2 Smith,"), photos)
    assert "no row in the CSV" not in page
    assert admin.client.post(f"/roster-imports/{import_id}/confirm").status_code == 303
    with session_scope(_db(app)) as s:
        named = dict(
            s.execute(select(Student.sourced_id, StudentPhoto.original_filename).join(StudentPhoto)
                      .where(Student.teacher_id == me.id)).all()
        )  # fmt: skip
        assert named == {"s-1": "s-1.jpg", "s-2": "S2002.jpg"}


def test_an_upload_left_in_preview_for_a_day_is_dropped_with_its_file(app, teacher_factory):
    from sqlalchemy import update

    from attendance_shared.models import SisImport
    from attendance_shared.roster_previews import expire_stale_previews
    from attendance_shared.storage import StorageError, make_store

    admin = teacher_factory("Ada")
    import_id = _upload(admin, school_set(students=1))
    settings = app.config["ATTENDANCE_SETTINGS"]
    store = make_store(settings)
    with session_scope(_db(app)) as s:
        key = s.get(SisImport, import_id).zip_key
        assert store.get(key)
        s.execute(update(SisImport).where(SisImport.id == import_id).values(created_at=dt.datetime(2026, 1, 1)))
    with session_scope(_db(app)) as s:
        expire_stale_previews(s, store)
        assert s.get(SisImport, import_id).state == "expired"
    with pytest.raises(StorageError):
        store.get(key)
    assert admin.client.post(f"/school/sis/imports/{import_id}/confirm").status_code == 303


def test_hand_made_students_are_adopted_by_number_and_a_course_name_in_use_gets_the_class_code(app, teacher_factory):
    admin = teacher_factory("Ada")
    hand_made = admin.create_course("Biology 7B")
    zoe = admin.add_student(hand_made, "Zoë Before", "S2001")
    import_id = _upload(admin, school_set(students=2))
    page = admin.client.get(f"/school/sis/imports/{import_id}").get_data(as_text=True)
    assert "Biology 7B (BIO7-B)" in page and "linked to the SIS by student number S2001" in page
    admin.client.post(f"/school/sis/imports/{import_id}/confirm")
    with session_scope(_db(app)) as s:
        adopted = s.get(Student, zoe)
        assert (adopted.sourced_id, adopted.name) == ("s-1", "Avery1 Smith")
        course = s.scalar(select(Course).where(Course.sourced_id == "class-1", Course.teacher_id == adopted.teacher_id))
        assert course.name == "Biology 7B (BIO7-B)" and {st.id for st in course.students} >= {zoe}
        assert s.get(Course, hand_made).name == "Biology 7B"  # the hand-made course is left as it was
