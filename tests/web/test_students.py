"""Students by hand: adding one with a number already in use, the portrait cap, deleting a student."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Enrollment,
    PhotoStatus,
    Student,
    StudentPhoto,
)
from attendance_shared.settings import get_settings
from attendance_shared.storage import make_store


def _jpeg(colour=(120, 90, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buf, "JPEG")
    return buf.getvalue()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _db():
    return session_scope(get_settings().sqlalchemy_url)


# --- a student number already in use ---------------------------------------------------------------


def test_a_number_that_belongs_to_someone_else_is_refused_on_the_number_field(teacher):
    science = teacher.create_course("Grade 7 Science")
    obama = teacher.add_student(science, "Barack Obama", "1001")
    maths = teacher.create_course("Maths")
    r = teacher.client.post(f"/courses/{maths}/students", data={"name": "Duplicate Person", "student_number": "1001"})
    assert r.status_code == 400
    page = _text(r)
    expected = (
        "Student number 1001 already belongs to Barack Obama. Use another number, "
        "or type the name Barack Obama to add that student to this course."
    )
    field = page[page.index('id="student_number"') :]
    assert field.index(expected) < field.index("Add student")  # shown under the number field
    assert 'value="Duplicate Person"' in page  # what was typed stays in the form
    assert "autofocus" in page[page.index('id="student_number"') - 200 : page.index('id="student_number"') + 200]
    assert "Duplicate Person added" not in page
    with _db() as s:
        assert s.get(Student, obama).name == "Barack Obama"
        mine = select(func.count()).select_from(Student).where(Student.teacher_id == s.get(Student, obama).teacher_id)
        assert s.scalar(mine) == 1  # nothing saved
        assert s.get(Enrollment, (maths, obama)) is None


def test_a_number_already_in_this_course_says_so_instead_of_offering_to_add_the_student(teacher):
    """Typing the other student's name would change nothing: they are on this course's list already."""
    science = teacher.create_course("Grade 7 Science")
    gates = teacher.add_student(science, "Bill Gates", "1003")
    r = teacher.client.post(f"/courses/{science}/students", data={"name": "Ada Lovelace", "student_number": "1003"})
    assert r.status_code == 400
    page = _text(r)
    field = page[page.index('id="student_number"') :]
    assert field.index("Bill Gates already has number 1003 in this course.") < field.index("Add student")
    assert "type the name Bill Gates to add that student" not in page
    assert 'value="Ada Lovelace"' in page
    with _db() as s:
        assert s.get(Student, gates).name == "Bill Gates"
        mine = select(func.count()).select_from(Student).where(Student.teacher_id == s.get(Student, gates).teacher_id)
        assert s.scalar(mine) == 1


def test_the_same_number_and_name_puts_the_existing_student_in_this_course(teacher):
    science = teacher.create_course("Grade 7 Science")
    obama = teacher.add_student(science, "Barack Obama", "1001")
    maths = teacher.create_course("Maths")
    r = teacher.client.post(
        f"/courses/{maths}/students",
        data={"name": "  barack   OBAMA ", "student_number": "1001"},
        follow_redirects=True,
    )
    assert "Barack Obama (1001) was already on your roster and is now in Maths." in _text(r)
    with _db() as s:
        assert s.get(Enrollment, (maths, obama)) is not None
        assert s.get(Student, obama).name == "Barack Obama"
        mine = select(func.count()).select_from(Student).where(Student.teacher_id == s.get(Student, obama).teacher_id)
        assert s.scalar(mine) == 1
    again = teacher.client.post(
        f"/courses/{maths}/students", data={"name": "Barack Obama", "student_number": "1001"}, follow_redirects=True
    )
    assert "Barack Obama (1001) is already in Maths." in _text(again)


# --- the portrait cap ------------------------------------------------------------------------------


def test_refused_portraits_do_not_count_toward_the_cap(teacher, jobs_not_sent):
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    teacher.upload_portraits(student, *[(_jpeg((40 * n + 10, 0, 0)), f"p{n}.jpg") for n in range(5)])
    with _db() as s:
        photos = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).all()
        photos[0].status = PhotoStatus.ACCEPTED
        for p in photos[1:]:
            p.status = PhotoStatus.REJECTED
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(_jpeg((0, 40 * n + 10, 0))), f"new{n}.jpg") for n in range(6)]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = _text(r)
    assert (
        "A student can have at most 5 portraits and Ann already has 1 (accepted or still being checked; "
        "refused ones do not count), so only the first 4 of these 6 were added." in page
    )
    assert "4 photo(s) uploaded" in page
    with _db() as s:
        statuses = s.scalars(select(StudentPhoto.status).where(StudentPhoto.student_id == student)).all()
    assert sorted(statuses).count(PhotoStatus.PENDING) == 4
    # Now full: 1 accepted and 4 being checked. Nothing more is added, and the message says why.
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(_jpeg((0, 0, 230))), "one-more.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "Ann already has 5 (accepted or still being checked" in _text(r)
    assert "so none of these were added. Delete a portrait to make room." in _text(r)


# --- deleting a student ----------------------------------------------------------------------------


def test_delete_says_attendance_goes_too_and_returns_to_the_course(teacher):
    science = teacher.create_course("Science")
    maths = teacher.create_course("Maths")
    ann = teacher.add_student(science, "Ann", "1")
    teacher.client.post(f"/courses/{maths}/students", data={"name": "Ann", "student_number": "1"})
    with _db() as s:
        session = AttendanceSession(course_id=science, date=dt.date(2026, 9, 1), label="")
        s.add(session)
        s.flush()
        s.add(AttendanceRecord(session_id=session.id, student_id=ann, status=AttendanceStatus.PRESENT))

    course_page = teacher.client.get(f"/courses/{maths}").get_data(as_text=True)
    assert f'href="/students/{ann}?course={maths}"' in course_page
    page = _text(teacher.client.get(f"/students/{ann}?course={maths}"))
    assert "their attendance in every past session? This cannot be undone." in page
    assert f'action="/students/{ann}/delete?course={maths}"' in page
    assert f'href="/courses/{maths}"' in page  # the way back

    r = teacher.client.post(f"/students/{ann}/delete?course={maths}")
    assert r.status_code == 302 and r.location.endswith(f"/courses/{maths}")
    assert "Ann, their photos and their attendance records were deleted." in _text(teacher.client.get(r.location))
    with _db() as s:
        assert s.get(Student, ann) is None
        assert (
            s.scalar(select(func.count()).select_from(AttendanceRecord).where(AttendanceRecord.student_id == ann)) == 0
        )


def test_delete_goes_back_only_to_a_course_of_this_teacher(teacher, teacher_factory):
    course = teacher.create_course("Science")
    other = teacher.create_course("Maths")
    first = teacher.add_student(course, "Bo", "2")
    teacher.client.post(f"/courses/{other}/students", data={"name": "Bo", "student_number": "2"})
    bob_course = teacher_factory("Bob").create_course("Bob's")
    r = teacher.client.post(f"/students/{first}/delete?course={bob_course}")
    assert r.status_code == 302 and r.location.endswith("/")  # two courses, none given: the dashboard
    # Without a course to return to, a student in one course returns there.
    only = teacher.add_student(course, "Cy", "3")
    r = teacher.client.post(f"/students/{only}/delete")
    assert r.location.endswith(f"/courses/{course}")
    # An address is never taken from the request: only a course id of this teacher.
    lone = teacher.add_student(course, "Di", "4")
    r = teacher.client.post(f"/students/{lone}/delete?course=https://evil.example/")
    assert r.location.endswith(f"/courses/{course}")


# --- the same portrait twice -------------------------------------------------------------------------


def test_the_same_portrait_again_is_not_stored_twice(teacher, jobs_not_sent):
    """A form sent again (a retry on a slow connection) must not take a second of the five places."""
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    photo = _jpeg((10, 200, 10))
    teacher.upload_portraits(student, (photo, "ann.jpg"))
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(photo), "ann (1).jpg"), (io.BytesIO(photo), "ann copy.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = _text(r)
    assert "ann (1).jpg is already one of Ann's portraits; it was not added twice." in page
    assert "ann copy.jpg is already one of Ann's portraits" in page
    with _db() as s:
        assert s.scalar(select(func.count()).select_from(StudentPhoto).where(StudentPhoto.student_id == student)) == 1


def test_a_refused_portrait_sent_again_is_named_as_refused_with_its_reason(teacher, jobs_not_sent):
    """The refused row stays (so the same photo is not checked again), but the teacher is told the truth: it was
    refused and why, not that it is one of the student's portraits."""
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    photo = _jpeg((200, 200, 10))
    teacher.upload_portraits(student, (photo, "ann.jpg"))
    with _db() as s:  # what the worker wrote
        row = s.scalar(select(StudentPhoto).where(StudentPhoto.student_id == student))
        row.status, row.reason = PhotoStatus.REJECTED, "No face found in ann.jpg"
    teacher.client.get(f"/students/{student}")  # the first upload's messages are shown
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(photo), "ann again.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = _text(r)
    assert (
        "ann again.jpg was refused earlier for Ann: No face found in ann.jpg. "
        "The same photo is not added again: choose another one."
    ) in page
    assert "already one of Ann's portraits" not in page and "photo(s) uploaded" not in page
    with _db() as s:
        assert s.scalar(select(func.count()).select_from(StudentPhoto).where(StudentPhoto.student_id == student)) == 1


def _race(monkeypatch, student: int, *photos: bytes) -> list[list[str]]:
    """Another request saves photos[n] for the student just after this one's n-th check (as when a form is sent
    twice at once): this request's rows then hit the unique constraint. Returns the keys this request removed."""
    import attendance_web.jobs_service as jobs_service
    import attendance_web.students.views as views

    check = views._new_portraits
    calls = iter(photos)

    def check_then_race(student_row, uploads):
        result = check(student_row, uploads)
        photo = next(calls, None)
        if photo is not None:
            with _db() as s:
                s.add(
                    StudentPhoto(
                        student_id=student,
                        storage_key=f"student_photos/0/{student}/other-request-{len(photo)}.jpg",
                        original_filename="other request.jpg",
                        content_type="image/jpeg",
                        width=64,
                        height=64,
                        content_sha256=hashlib.sha256(photo).hexdigest(),
                    )
                )
        return result

    monkeypatch.setattr(views, "_new_portraits", check_then_race)
    removed: list[list[str]] = []
    remove = jobs_service.remove_photos
    monkeypatch.setattr(jobs_service, "remove_photos", lambda keys: (removed.append(list(keys)), remove(keys)))
    return removed


@pytest.mark.postgres  # on SQLite the upload holds the one write lock from its count: no request can slip in
def test_two_requests_at_once_store_each_portrait_once_and_lose_none(teacher, jobs_not_sent, monkeypatch):
    """Both requests pass the check before either commits: the database's unique constraint refuses this one's
    copy, the batch is tried again against the portraits as they are now, and the file that was not a copy is
    saved, not dropped with the rest of the batch."""
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    twice, other = _jpeg((10, 10, 200)), _jpeg((200, 10, 200))
    removed = _race(monkeypatch, student, twice)
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(other), "other.jpg"), (io.BytesIO(twice), "ann.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = _text(r)
    assert "ann.jpg is already one of Ann's portraits; it was not added twice." in page
    assert "1 photo(s) uploaded" in page and "Not saved" not in page
    assert [len(keys) for keys in removed] == [2]  # the first try's two files, rolled back
    with _db() as s:
        rows = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).all()
    assert sorted(p.original_filename for p in rows) == ["other request.jpg", "other.jpg"]
    saved = next(p for p in rows if p.original_filename == "other.jpg")
    assert saved.storage_key not in removed[0]
    assert make_store(get_settings()).get(saved.storage_key) == other


@pytest.mark.postgres  # on SQLite the upload holds the one write lock from its count: no request can slip in
def test_a_race_that_happens_again_names_the_files_that_were_not_saved(teacher, jobs_not_sent, monkeypatch):
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    first, second = _jpeg((10, 200, 200)), _jpeg((200, 200, 200))
    _race(monkeypatch, student, first, second)
    r = teacher.client.post(
        f"/students/{student}/photos",
        data={"photos": [(io.BytesIO(first), "one.jpg"), (io.BytesIO(second), "two.jpg")]},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    page = _text(r)
    assert "one.jpg is already one of Ann's portraits" in page
    assert (
        "Not saved: two.jpg. Another upload for Ann was saving the same photos at that moment. "
        "Please upload these again."
    ) in page
    assert "photo(s) uploaded" not in page
    with _db() as s:
        names = s.scalars(select(StudentPhoto.original_filename).where(StudentPhoto.student_id == student)).all()
    assert names == ["other request.jpg", "other request.jpg"]  # the other request's two rows, none of ours


def test_a_heic_portrait_is_shown_as_a_jpeg_copy(teacher, jobs_not_sent):
    """Most browsers cannot show HEIC: the teacher must still see whose face was enrolled."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 120, 40)).save(buf, "HEIF")
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    teacher.upload_portraits(student, (buf.getvalue(), "ann.heic"))
    with _db() as s:
        photo = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).one()
        assert photo.content_type in ("image/heic", "image/heif")
        photo_id = photo.id
    r = teacher.client.get(f"/student-photos/{photo_id}")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(r.data)).size == (640, 480)
    jpeg = _jpeg((1, 2, 3))
    teacher.upload_portraits(student, (jpeg, "ann.jpg"))
    with _db() as s:
        jpeg_id = s.scalar(
            select(StudentPhoto.id).where(
                StudentPhoto.student_id == student, StudentPhoto.original_filename == "ann.jpg"
            )
        )
    assert teacher.client.get(f"/student-photos/{jpeg_id}").data == jpeg  # as uploaded


# --- portrait file names ---------------------------------------------------------------------------------


def test_portrait_file_names_wrap_at_their_separators_not_mid_word(teacher):
    """A narrow portrait card broke "Adrien_Brody_0001.jpg" as "Adrien_Brody_0001.j / pg": the name now offers a
    break after each underscore and hyphen and before each dot, and its full text is in a title attribute."""
    course = teacher.create_course("Civics")
    student = teacher.add_student(course, "Adrien Brody", "1003")
    teacher.upload_portraits(student, (_jpeg(), "Adrien_Brody_0001.jpg"), (_jpeg((1, 2, 3)), "Jean-Luc_2.jpg"))
    page = teacher.client.get(f"/students/{student}").get_data(as_text=True)
    assert '<span class="filename" title="Adrien_Brody_0001.jpg">Adrien_<wbr>Brody_<wbr>0001<wbr>.jpg</span>' in page
    assert ">Jean-<wbr>Luc_<wbr>2<wbr>.jpg</span>" in page


def test_the_breakable_filename_filter():
    from attendance_web.students.views import breakable_filename

    assert str(breakable_filename("a_b-c.d.jpg")) == "a_<wbr>b-<wbr>c<wbr>.d<wbr>.jpg"
    assert str(breakable_filename('<b>"&_x')) == "&lt;b&gt;&#34;&amp;_<wbr>x"  # escaped, then given its breaks
    assert str(breakable_filename("plain")) == "plain"


# --- deleting a portrait -----------------------------------------------------------------------------


@pytest.mark.facedata
def test_deleting_the_wrong_first_portrait_checks_the_refused_ones_again(teacher, jobs_not_sent, monkeypatch):
    """[wrong, right, right] uploaded together: the wrong one is accepted first and the two right ones refused as
    not the same person. Deleting the wrong one re-queues them (job rows committed, then published); run by the
    worker's task, they are judged against what remains and accepted. Real model, real LFW photos."""
    import attendance_web.jobs_service as jobs_service
    from attendance_shared.models import Job, JobKind, JobOutcome, JobState
    from attendance_worker.engine import get_engine
    from attendance_worker.enrollment import enroll_photo
    from attendance_worker.tasks import enroll_photo_task
    from tests.conftest import require_facedata

    lfw = require_facedata() / "lfw" / "identities"
    wrong = lfw / "Colin_Powell" / "Colin_Powell_0001.jpg"
    right = [lfw / "Adrien_Brody" / f"Adrien_Brody_{n:04d}.jpg" for n in (1, 3)]
    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Adrien Brody", "1")
    teacher.upload_portraits(student, wrong, *right)
    with _db() as s:
        ids = list(s.scalars(select(StudentPhoto.id).where(StudentPhoto.student_id == student).order_by("id")))
    for photo_id in ids:  # the three enrollment jobs, in upload order
        with _db() as s:
            enroll_photo(s, make_store(get_settings()), get_engine(), photo_id)
    with _db() as s:
        photos = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student).order_by("id")))
        assert [p.status for p in photos] == [PhotoStatus.ACCEPTED, PhotoStatus.REJECTED, PhotoStatus.REJECTED]
        before = set(s.scalars(select(Job.id)))

    published: list[str] = []  # what the route sends to the broker (kept from it, as jobs_not_sent does)
    monkeypatch.setattr(jobs_service, "publish", lambda job: published.append(job.id) or True)
    r = teacher.client.post(f"/student-photos/{ids[0]}/delete", data={}, follow_redirects=True)
    assert r.status_code == 200
    page = _text(r)
    assert "Photo deleted." in page
    assert "2 portraits that were refused as not looking like Adrien Brody's other portraits will be checked" in page
    with _db() as s:
        jobs = list(s.scalars(select(Job).where(Job.id.not_in(before))))
        assert sorted(j.subject_id for j in jobs) == ids[1:]
        assert all(j.kind == JobKind.ENROLLMENT and j.state == JobState.QUEUED for j in jobs)
        assert sorted(published) == sorted(j.id for j in jobs)
        again = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student).order_by("id")))
        assert [(p.status, p.refusal, p.reason) for p in again] == [(PhotoStatus.PENDING, None, None)] * 2
    for job in sorted(jobs, key=lambda j: j.subject_id):
        enroll_photo_task(job_id=job.id, photo_id=job.subject_id)
    with _db() as s:
        again = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student).order_by("id")))
        assert [p.status for p in again] == [PhotoStatus.ACCEPTED] * 2
        assert {(s.get(Job, j.id).state, s.get(Job, j.id).outcome) for j in jobs} == {
            (JobState.SUCCEEDED, JobOutcome.ACCEPTED)
        }


def test_deleting_a_refused_portrait_judges_nothing_again(teacher, jobs_not_sent):
    """Only a portrait the others could have been compared with re-queues them: deleting one refused portrait
    leaves the other refused one as it is."""
    from attendance_shared import refusals
    from attendance_shared.models import Job

    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    teacher.upload_portraits(student, (_jpeg((10, 20, 30)), "a.jpg"), (_jpeg((200, 20, 30)), "b.jpg"))
    with _db() as s:  # what the worker wrote
        photos = list(s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student).order_by("id")))
        for p in photos:
            refusal = refusals.not_the_same_person(p.original_filename, "Ann")
            p.status, p.refusal, p.reason = PhotoStatus.REJECTED, refusal.code, refusal.sentence
        ids = [p.id for p in photos]
        jobs_before = s.scalar(select(func.count()).select_from(Job))
    r = teacher.client.post(f"/student-photos/{ids[0]}/delete", data={}, follow_redirects=True)
    assert "Photo deleted." in _text(r) and "will be checked again" not in _text(r)
    with _db() as s:
        assert s.get(StudentPhoto, ids[1]).status == PhotoStatus.REJECTED
        assert s.scalar(select(func.count()).select_from(Job)) == jobs_before


def test_ten_uploads_at_once_store_no_more_than_the_cap(app, teacher, jobs_not_sent, monkeypatch):
    """Ten requests, one portrait each, at the same moment: each counted the portraits before any was saved, and
    all ten were stored (the cap is 5). The count and the save now happen under the student's lock."""
    import threading
    import time

    import attendance_web.students.views as views

    course = teacher.create_course("Art")
    student = teacher.add_student(course, "Ann", "1")
    count = views._within_cap

    def count_slowly(student_row, uploads):
        result = count(student_row, uploads)
        time.sleep(0.3)  # every request has counted before the first one saves
        return result

    monkeypatch.setattr(views, "_within_cap", count_slowly)
    clients = []
    for _ in range(10):
        c = app.test_client()
        assert c.post("/login", data={"email": teacher.email, "password": teacher.password}).status_code == 302
        clients.append(c)
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def upload(c, n: int) -> None:
        photo = _jpeg((n * 20, 30, 200 - n * 10))
        start.wait()
        r = c.post(
            f"/students/{student}/photos",
            data={"photos": [(io.BytesIO(photo), f"ann-{n}.jpg")]},
            content_type="multipart/form-data",
        )
        statuses.append(r.status_code)

    threads = [threading.Thread(target=upload, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert statuses == [303] * 10
    with _db() as s:
        stored = s.scalar(select(func.count()).select_from(StudentPhoto).where(StudentPhoto.student_id == student))
    assert stored == views.MAX_PHOTOS_PER_STUDENT
