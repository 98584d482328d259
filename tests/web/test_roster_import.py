"""Roster bulk import: CSV + ZIP -> preview (nothing written) -> confirm (exactly once) -> progress.

Covers the roster part of issue 6's bad-input corpus: BOM, semicolons, Windows-1252, unicode and
HTML names, formula-looking names, 10,000 rows, oversized fields, ZIP bombs, `../` paths, nested
folders, __MACOSX, non-ZIP and empty ZIP files; and the isolation of every route (404).
"""

from __future__ import annotations

import io
import re
import threading
import time
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    Enrollment,
    Job,
    JobKind,
    PhotoStatus,
    RosterImport,
    Student,
    StudentPhoto,
    Teacher,
)
from tests.conftest import require_facedata, wait_for

# --- helpers --------------------------------------------------------------------------------------


def _jpeg(color: tuple[int, int, int] = (120, 90, 60), size: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, "JPEG")
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (40, 40), (10, 200, 10, 128)).save(buf, "PNG")
    return buf.getvalue()


def _zip(entries: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def _csv(*lines: str, sep: str = ",", header: bool = True) -> bytes:
    rows = (["student_number" + sep + "name" + sep + "email"] if header else []) + list(lines)
    return ("\r\n".join(rows) + "\r\n").encode("utf-8")


def _url(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def _teacher_id(app, t) -> int:
    with session_scope(_url(app)) as s:
        return s.scalar(select(Teacher.id).where(Teacher.email == t.email))


def _upload(t, course_id: int, csv_data: bytes, zip_data: bytes | None = None, csv_name: str = "class.csv"):
    data: dict = {"roster_csv": (io.BytesIO(csv_data), csv_name)}
    if zip_data is not None:
        data["photos_zip"] = (io.BytesIO(zip_data), "photos.zip")
    return t.client.post(f"/courses/{course_id}/roster/imports", data=data, content_type="multipart/form-data")


def _preview(t, course_id: int, csv_data: bytes, zip_data: bytes | None = None) -> tuple[str, str]:
    """Upload, expect the preview; (import id, preview HTML)."""
    r = _upload(t, course_id, csv_data, zip_data)
    assert r.status_code == 303, r.data[:800]
    m = re.search(r"/roster-imports/([0-9a-f]{32})$", r.location)
    assert m, r.location
    page = t.client.get(r.location)
    assert page.status_code == 200
    return m.group(1), page.get_data(as_text=True)


def _refused(t, course_id: int, csv_data: bytes, zip_data: bytes | None = None) -> str:
    """Upload, expect a refusal; the flashed message as the roster page shows it."""
    r = _upload(t, course_id, csv_data, zip_data)
    assert r.status_code == 303 and r.location.endswith(f"/courses/{course_id}/roster"), r.location
    page = t.client.get(r.location).get_data(as_text=True)
    assert "Nothing was imported." in page
    return page


def _students(app, t) -> dict[str, Student]:
    with session_scope(_url(app)) as s:
        rows = s.scalars(select(Student).join(Teacher).where(Teacher.email == t.email)).all()
        return {st.student_number: st for st in rows}


def _photo_count(app, t) -> int:
    with session_scope(_url(app)) as s:
        return s.scalar(
            select(func.count()).select_from(StudentPhoto).join(Student).join(Teacher).where(Teacher.email == t.email)
        )


def _photo_dir(app) -> Path:
    return app.config["ATTENDANCE_SETTINGS"].photo_dir


def _temp_files(app, import_id: str) -> list[Path]:
    return sorted((_photo_dir(app) / "temp" / "imports").glob(f"{import_id}.*"))


def _unescaped(html: str) -> str:
    return (
        html.replace("&#34;", '"').replace("&#39;", "'").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    )


# --- the happy path -------------------------------------------------------------------------------


def test_template_csv_downloads_and_imports_as_is(app, teacher):
    course = teacher.create_course()
    r = teacher.client.get(f"/courses/{course}/roster/template.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.data.decode("utf-8-sig").splitlines()[0] == "student_number,name,email"
    _, page = _preview(teacher, course, r.data)
    assert "Zoë Nowak" in page and "2</strong> new student(s)" in page


def test_course_page_links_to_the_roster_and_the_add_form_still_works(teacher):
    course = teacher.create_course()
    page = teacher.client.get(f"/courses/{course}").get_data(as_text=True)
    assert f'href="/courses/{course}/roster"' in page
    student = teacher.add_student(course, "Ada Lovelace", "A-1")
    roster = teacher.client.get(f"/courses/{course}/roster").get_data(as_text=True)
    assert "Ada Lovelace" in roster and f"/students/{student}" in roster


def test_preview_shows_the_plan_and_writes_nothing(app, teacher):
    course = teacher.create_course()
    zip_data = _zip([("1001.jpg", _jpeg()), ("1001_2.JPEG", _jpeg((1, 2, 3))), ("1002.png", _png())])
    import_id, page = _preview(teacher, course, _csv("1001,Zoë Nowak,zoe@example.org", "1002,Sam Lee,"), zip_data)
    assert "2</strong> new student(s)" in page
    assert "3</strong> portrait(s) to add" in page
    assert "<span>1001.jpg</span>" in page and "<span>1001_2.JPEG</span>" in page
    assert "Nothing has been saved yet" in page
    assert _students(app, teacher) == {} and _photo_count(app, teacher) == 0
    assert [p.suffix for p in _temp_files(app, import_id)] == [".csv", ".zip"]
    with session_scope(_url(app)) as s:
        imp = s.get(RosterImport, import_id)
        assert imp.state == "preview" and imp.csv_key == f"temp/imports/{import_id}.csv"


def test_confirm_creates_students_photos_and_jobs_then_deletes_the_upload(app, teacher, jobs_not_sent):
    course = teacher.create_course()
    zip_data = _zip([("1001.jpg", _jpeg()), ("1001_2.jpg", _jpeg((9, 9, 9))), ("class/1002.webp", _webp())])
    import_id, _ = _preview(teacher, course, _csv("1001,Zoë Nowak,zoe@example.org", "1002,Sam Lee,"), zip_data)
    r = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert r.status_code == 303 and r.location.endswith(f"/roster-imports/{import_id}/progress")
    students = _students(app, teacher)
    assert {n: s.name for n, s in students.items()} == {"1001": "Zoë Nowak", "1002": "Sam Lee"}
    assert students["1001"].email == "zoe@example.org" and students["1002"].email is None
    with session_scope(_url(app)) as s:
        enrolled = set(s.scalars(select(Enrollment.student_id).where(Enrollment.course_id == course)))
        assert enrolled == {st.id for st in students.values()}
        photos = s.scalars(select(StudentPhoto).where(StudentPhoto.student_id.in_(enrolled))).all()
        assert sorted(p.original_filename for p in photos) == ["1001.jpg", "1001_2.jpg", "1002.webp"]
        assert {p.status for p in photos} == {PhotoStatus.PENDING}
        assert all(p.storage_key.startswith("student_photos/") for p in photos)
        assert all((_photo_dir(app) / p.storage_key).is_file() for p in photos)
        jobs = s.scalars(select(Job).where(Job.kind == JobKind.ENROLLMENT, Job.subject_id.in_([p.id for p in photos])))
        assert len(jobs.all()) == 3
        assert s.get(RosterImport, import_id).state == "confirmed"
    assert _temp_files(app, import_id) == []
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "Added 2 new students, added 3 portraits." in page
    assert "The portraits are being checked, each for exactly one clear face." in page
    assert "Checking the imported portraits" in page
    roster = teacher.client.get(f"/courses/{course}/roster").get_data(as_text=True)
    assert "2 checking" in roster and "1 checking" in roster and "zoe@example.org" in roster
    status = teacher.client.get(f"/roster-imports/{import_id}/progress.json").get_json()
    assert status | {"refusals": None} == status | {
        "state": "confirmed", "total": 3, "pending": 3, "accepted": 0, "rejected": 0, "done": False, "refusals": None
    }  # fmt: skip


def test_once_every_portrait_is_checked_nothing_says_being_checked(app, teacher, jobs_not_sent):
    """The confirm message said "The portraits are being checked." above a progress line that said they all were."""
    course = teacher.create_course()
    import_id, _ = _preview(teacher, course, _csv("1001,Zoë Nowak,"), _zip([("1001.jpg", _jpeg())]))
    r = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    with session_scope(_url(app)) as s:
        for photo in s.scalars(select(StudentPhoto).where(StudentPhoto.roster_import_id == import_id)):
            photo.status = PhotoStatus.ACCEPTED
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "Added 1 new student, added 1 portrait." in page
    assert "All portraits are checked." in page
    assert "being checked" not in page


def _webp() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 30)).save(buf, "WEBP")
    return buf.getvalue()


def test_progress_counts_this_import_only_and_lists_refusals(app, teacher, jobs_not_sent):
    course = teacher.create_course()
    earlier = teacher.add_student(course, "Old Timer", "999")
    teacher.upload_portraits(earlier, (_jpeg(), "old.jpg"))  # not part of the import below
    zip_data = _zip([("1.jpg", _jpeg()), ("2.jpg", _jpeg()), ("2_2.jpg", _jpeg((10, 20, 30)))])
    import_id, _ = _preview(teacher, course, _csv("1,Ann <b>One</b>,", "2,Bo Two,"), zip_data)
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    with session_scope(_url(app)) as s:  # what the worker would write
        photos = {
            p.original_filename: p
            for p in s.scalars(select(StudentPhoto).join(Student).where(Student.student_number.in_(["1", "2"])))
        }
        photos["1.jpg"].status = PhotoStatus.REJECTED
        photos["1.jpg"].reason = "No face was found in 1.jpg."
        photos["2.jpg"].status = PhotoStatus.ACCEPTED
    status = teacher.client.get(f"/roster-imports/{import_id}/progress.json").get_json()
    assert (status["total"], status["pending"], status["accepted"], status["rejected"]) == (3, 1, 1, 1)
    assert not status["done"]
    assert status["refusals"] == [
        {
            "student": "Ann <b>One</b>",
            "student_number": "1",
            "student_url": status["refusals"][0]["student_url"],
            "filename": "1.jpg",
            "reason": "No face was found in 1.jpg.",
        }
    ]
    with session_scope(_url(app)) as s:
        s.scalars(
            select(StudentPhoto).where(StudentPhoto.original_filename == "2_2.jpg")
        ).one().status = PhotoStatus.ACCEPTED
    assert teacher.client.get(f"/roster-imports/{import_id}/progress.json").get_json()["done"] is True
    page = teacher.client.get(f"/roster-imports/{import_id}/progress").get_data(as_text=True)
    assert "No face was found in 1.jpg." in page and "Ann &lt;b&gt;One&lt;/b&gt;" in page


def test_existing_student_is_matched_by_number_updated_and_enrolled(app, teacher):
    other_course = teacher.create_course("Physics")
    teacher.add_student(other_course, "Zoe Nowak", "1001")
    course = teacher.create_course("Biology")
    _, page = _preview(teacher, course, _csv("1001,Zoë Nowak,zoe@example.org", "1002,Sam Lee,"))
    assert "1</strong> new student(s)" in page and "1</strong> already known" in page
    assert "Name changes from “Zoe Nowak”" in page and "joins this course" in page
    import_id = re.search(r"/roster-imports/([0-9a-f]{32})/confirm", page).group(1)
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    students = _students(app, teacher)
    assert len(students) == 2 and students["1001"].name == "Zoë Nowak"
    with session_scope(_url(app)) as s:
        courses = set(s.scalars(select(Enrollment.course_id).where(Enrollment.student_id == students["1001"].id)))
    assert courses == {course, other_course}


def test_the_preview_and_the_message_count_what_changes_and_a_repeat_import_offers_nothing(app, teacher, jobs_not_sent):
    """The teacher's walkthrough: six rows, five new and one already in the course under another spelling, and
    seven portraits. The preview, its button and the message after confirming count those changes, not the six
    rows; importing the same two files again would change nothing, so it says so and offers no confirm."""
    course = teacher.create_course()
    teacher.add_student(course, "Zoe Nowak", "1006")
    rows = [f"100{i},Student {i}," for i in range(1, 6)] + ["1006,Zoë Nowak,"]
    csv_data = _csv(*rows)
    photos = [(f"100{i}.jpg", _jpeg((10 * i, 40, 90))) for i in range(1, 7)] + [("1001_2.jpg", _jpeg((1, 2, 3)))]
    zip_data = _zip(photos)
    import_id, page = _preview(teacher, course, csv_data, zip_data)
    said = " ".join(_unescaped(re.sub(r"<[^>]+>", "", page)).split())
    assert "Confirming will: Add 5 new students, rename 1, add 7 portraits." in said
    assert ">Confirm: add 5 new students, rename 1, add 7 portraits</button>" in page
    assert "import 6" not in said and "Students in the file (6)" in said
    r = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    page = teacher.client.get(r.location).get_data(as_text=True)
    assert "Added 5 new students, renamed 1, added 7 portraits." in page
    assert _students(app, teacher)["1006"].name == "Zoë Nowak" and _photo_count(app, teacher) == 7

    import_id, page = _preview(teacher, course, csv_data, zip_data)
    said = " ".join(_unescaped(re.sub(r"<[^>]+>", "", page)).split())
    assert "Nothing to import: every student and photo is already in this course." in said
    assert f"/roster-imports/{import_id}/confirm" not in page and "Confirm:" not in page
    assert f"/roster-imports/{import_id}/cancel" in page and "Close and delete the uploaded files" in page
    assert said.count("Already in this course; nothing changes") == 6
    # the page does not ask for a confirmation it does not offer, nor call photos already there a change
    assert "Nothing has been saved yet" not in said and "What will change" not in said
    # a confirm sent anyway (a tab left open) changes nothing and says so
    r = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    page = _unescaped(teacher.client.get(r.location).get_data(as_text=True))
    assert "Nothing was imported: every student and photo is already in this course." in page
    assert "Added" not in page and len(_students(app, teacher)) == 6 and _photo_count(app, teacher) == 7

    # the same CSV without the ZIP; one student of the teacher's from another course, one new email
    other = teacher.create_course("Physics")
    teacher.add_student(other, "Eve Other", "2001")
    _, page = _preview(teacher, course, _csv(*rows))
    assert "Nothing to import: every student is already in this course." in _unescaped(page)
    _, page = _preview(teacher, course, _csv("1001,Student 1,s1@example.org", "2001,Eve Other,"))
    said = " ".join(_unescaped(re.sub(r"<[^>]+>", "", page)).split())
    assert "Confirming will: Add 1 of your existing students to this course, update 1 email address." in said


def test_confirming_twice_creates_nothing_twice(app, teacher):
    course = teacher.create_course()
    import_id, _ = _preview(teacher, course, _csv("1,A,", "2,B,"), _zip([("1.jpg", _jpeg())]))
    first = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    second = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert first.location == second.location and second.location.endswith("/progress")
    assert len(_students(app, teacher)) == 2 and _photo_count(app, teacher) == 1
    # ...and a cancel after the confirm changes nothing either.
    assert teacher.client.post(f"/roster-imports/{import_id}/cancel").location.endswith("/progress")
    assert len(_students(app, teacher)) == 2


def test_two_tabs_confirming_at_the_same_moment_import_once(app, teacher):
    """Two requests race on the row lock of the import: one imports, the other finds it confirmed."""
    course = teacher.create_course()
    rows = [f"{n},Student {n}," for n in range(1, 41)]
    zip_data = _zip([(f"{n}.jpg", _jpeg((n, n, n))) for n in range(1, 41)])
    import_id, _ = _preview(teacher, course, _csv(*rows), zip_data)
    tab2 = app.test_client()
    assert tab2.post("/login", data={"email": teacher.email, "password": teacher.password}).status_code == 302
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def confirm(client) -> None:
        barrier.wait()
        answers.append(client.post(f"/roster-imports/{import_id}/confirm").status_code)

    threads = [threading.Thread(target=confirm, args=(c,)) for c in (teacher.client, tab2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert answers == [303, 303]
    assert len(_students(app, teacher)) == 40 and _photo_count(app, teacher) == 40
    with session_scope(_url(app)) as s:
        assert s.scalar(select(func.count()).select_from(Enrollment).where(Enrollment.course_id == course)) == 40


def test_cancel_deletes_the_uploaded_files_and_writes_nothing(app, teacher):
    course = teacher.create_course()
    import_id, _ = _preview(teacher, course, _csv("1,A,"), _zip([("1.jpg", _jpeg())]))
    assert len(_temp_files(app, import_id)) == 2
    r = teacher.client.post(f"/roster-imports/{import_id}/cancel")
    assert r.status_code == 303 and r.location.endswith(f"/courses/{course}/roster")
    assert _temp_files(app, import_id) == [] and _students(app, teacher) == {}
    # The cancelled import can no longer be confirmed.
    r = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert r.location.endswith(f"/courses/{course}/roster") and _students(app, teacher) == {}
    assert teacher.client.get(f"/roster-imports/{import_id}").status_code == 302


def test_confirm_without_csrf_token_is_refused(teacher_factory):
    from attendance_shared.settings import get_settings
    from attendance_web import create_app

    get_settings.cache_clear()
    strict = create_app(TESTING=True)  # CSRF on, as in production
    t = teacher_factory("Carol")
    course = t.create_course()
    import_id, _ = _preview(t, course, _csv("1,A,"))
    browser = strict.test_client()
    login = browser.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    assert (
        browser.post("/login", data={"email": t.email, "password": t.password, "csrf_token": token}).status_code == 302
    )
    r = browser.post(f"/roster-imports/{import_id}/confirm")
    assert r.status_code == 400
    assert t.client.get(f"/roster-imports/{import_id}").status_code == 200  # still waiting, nothing imported


# --- CSV robustness -------------------------------------------------------------------------------


def test_csv_with_utf8_bom(app, teacher):
    course = teacher.create_course()
    import_id, page = _preview(teacher, course, "\ufeffstudent_number,name\r\n7,Zoë\r\n".encode())
    assert "1</strong> new student(s)" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert {n: s.name for n, s in _students(app, teacher).items()} == {"7": "Zoë"}


def test_csv_separated_by_semicolons(app, teacher):
    course = teacher.create_course()
    data = "student_number;name;email\n1;Nowak, Zoë;zoe@example.org\n2;Müller, Jan;\n".encode()
    import_id, page = _preview(teacher, course, data)
    assert "2</strong> new student(s)" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert {n: (s.name, s.email) for n, s in _students(app, teacher).items()} == {
        "1": ("Nowak, Zoë", "zoe@example.org"),
        "2": ("Müller, Jan", None),
    }


def test_headerless_semicolon_csv_with_commas_inside_names(app, teacher):
    course = teacher.create_course()
    import_id, _ = _preview(teacher, course, "1;Nowak, Zoë\n2;Lee, Sam\n3;Ng, Al\n".encode())
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert sorted(s.name for s in _students(app, teacher).values()) == ["Lee, Sam", "Ng, Al", "Nowak, Zoë"]


def test_windows_1252_csv_falls_back_and_says_so(app, teacher):
    course = teacher.create_course()
    data = "student_number,name\r\n1,Zoë Ågren\r\n2,François “Fran” Noël\r\n".encode("cp1252")
    import_id, page = _preview(teacher, course, data)
    assert "read as Windows-1252" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert {s.name for s in _students(app, teacher).values()} == {"Zoë Ågren", "François “Fran” Noël"}


def test_utf16_csv_from_excel_unicode_text(app, teacher):
    course = teacher.create_course()
    data = "student_number\tname\r\n1\t李小龍\r\n".encode("utf-16")
    import_id, _ = _preview(teacher, course, data)
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert [s.name for s in _students(app, teacher).values()] == ["李小龍"]


def test_unicode_names_are_kept_exactly(app, teacher):
    course = teacher.create_course()
    names = [
        "Zoë Ńowak",
        "李小龍",
        "Ηλέκτρα Παπαδοπούλου",
        "Þórður Ægisson",
        "Nguyễn Thị Minh Khai",
        "e\u0301mile (NFD)",
    ]
    import_id, page = _preview(teacher, course, _csv(*(f"{i},{n}," for i, n in enumerate(names, 1))))
    for name in names:
        assert name in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert sorted(s.name for s in _students(app, teacher).values()) == sorted(names)


def test_html_and_script_in_names_are_stored_as_text_and_escaped_on_every_page(app, teacher):
    course = teacher.create_course()
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    csv_data = ('student_number,name\r\n1,"' + evil.replace('"', '""') + '"\r\n').encode()
    import_id, preview = _preview(teacher, course, csv_data, _zip([("1.jpg", _jpeg())]))
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    student = _students(app, teacher)["1"]
    assert student.name == evil
    with session_scope(_url(app)) as s:  # a refusal puts the name on the progress page as well
        s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student.id)).one().status = PhotoStatus.REJECTED
    pages = {
        "preview": preview,
        "progress": teacher.client.get(f"/roster-imports/{import_id}/progress").get_data(as_text=True),
        "roster": teacher.client.get(f"/courses/{course}/roster").get_data(as_text=True),
        "course": teacher.client.get(f"/courses/{course}").get_data(as_text=True),
        "student": teacher.client.get(f"/students/{student.id}").get_data(as_text=True),
    }
    for where, html in pages.items():
        assert "<script>alert" not in html and "<img src=x" not in html, where
        assert "&lt;script&gt;alert(" in html, where
    assert teacher.client.get(f"/roster-imports/{import_id}/progress.json").is_json


def test_formula_looking_names_are_stored_as_typed(app, teacher):
    """Neutralising formulas (=, +, -, @) is the export's job; the roster keeps what the teacher typed."""
    course = teacher.create_course()
    names = ["=cmd|' /C calc'!A0", "+SUM(A1:A9)", "-2+3", '@HYPERLINK("http://x")']
    lines = ['{},"{}",'.format(i, n.replace('"', '""')) for i, n in enumerate(names, 1)]
    import_id, _ = _preview(teacher, course, _csv(*lines))
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert sorted(s.name for s in _students(app, teacher).values()) == sorted(names)


@pytest.mark.slow
def test_ten_thousand_rows_preview_and_import_in_bounded_time(app, teacher):
    course = teacher.create_course()
    csv_data = _csv(*(f"S{n:05d},Student Number {n},s{n}@example.org" for n in range(10_000)))
    started = time.monotonic()
    import_id, page = _preview(teacher, course, csv_data)
    preview_seconds = time.monotonic() - started
    assert "10000</strong> new student(s)" in page
    assert "Showing the first 100 of 10000 students; the summary above counts all of them." in page
    assert page.count("<tr>") <= 102
    started = time.monotonic()
    r = teacher.client.post(f"/roster-imports/{import_id}/confirm")
    confirm_seconds = time.monotonic() - started
    assert r.status_code == 303
    assert len(_students(app, teacher)) == 10_000
    assert preview_seconds < 20 and confirm_seconds < 30, (preview_seconds, confirm_seconds)


def test_more_than_ten_thousand_rows_is_refused_with_a_clear_message(app, teacher):
    course = teacher.create_course()
    page = _refused(teacher, course, _csv(*(f"{n},Student {n}," for n in range(10_001))))
    assert "more than 10,000 students" in page and "split it" in page
    assert _students(app, teacher) == {}


def test_rows_with_missing_values_duplicates_and_oversized_fields(app, teacher):
    course = teacher.create_course()
    import_id, page = _preview(
        teacher,
        course,
        _csv(
            "1,Ann,",
            ",No Number,",
            "3,,",
            "1,Ann,",  # repeats row 2
            "1,Someone Else,",  # same number, another name
            "4," + "N" * 121 + ",",
            "5" * 41 + ",Long Number,",
            '6,"Two\nLines",',
            "7,Bea,not-an-email",
            "8,Cy,c@example.org",
        ),
    )
    text = _unescaped(page)
    assert "Row 3 (No Number): the student number is missing. This row is skipped." in text
    assert "Row 4 (number 3): the name is missing. This row is skipped." in text
    assert "Row 5 repeats row 2 (number 1); imported once." in text
    assert "Row 6 uses student number 1 again (row 2 is Ann); row 6 (Someone Else) is skipped." in text
    assert "the name is 121 characters long; the limit is 120." in text
    assert "the student number is 41 characters long; the limit is 40." in text
    assert "contains a line break" in text
    assert "“not-an-email” is not an email address; imported without an email." in text
    assert "3</strong> new student(s)" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    students = _students(app, teacher)
    assert sorted(students) == ["1", "7", "8"] and students["7"].email is None


def test_a_gigantic_cell_refuses_the_file(app, teacher):
    course = teacher.create_course()
    page = _refused(teacher, course, _csv('1,"' + "x" * 200_000 + '",'))
    assert "has a cell longer than" in page


def test_files_that_are_not_csv_are_refused(app, teacher):
    course = teacher.create_course()
    assert "Excel workbook" in _refused(teacher, course, _zip([("xl/workbook.xml", b"<x/>")]))
    assert "binary data" in _refused(teacher, course, b"\x00\x01\x02garbage\x00")
    assert "no students in it" in _refused(teacher, course, b"")
    assert "column titles but no students" in _refused(teacher, course, b"student_number,name\n")
    assert "at least a student number and a name" in _refused(teacher, course, b"justonecolumn\nanother\n")
    assert "Choose the CSV file" in teacher.client.post(
        f"/courses/{course}/roster/imports", data={}, follow_redirects=True
    ).get_data(as_text=True)


def test_every_row_wrong_shows_problems_and_no_confirm_button(teacher):
    course = teacher.create_course()
    _, page = _preview(teacher, course, _csv(",A,", ",B,"))
    assert "There is nothing to import" in page and "/confirm" not in page and "/cancel" in page


# --- ZIP robustness -------------------------------------------------------------------------------


def test_zip_bomb_by_ratio_is_refused_before_unpacking(app, teacher):
    course = teacher.create_course()
    bomb = _zip([("1.jpg", b"\0" * (20 * 1024 * 1024))])  # 20 MB of zeros -> about 20 KB
    assert len(bomb) < 100_000
    page = _refused(teacher, course, _csv("1,A,"), bomb)
    assert "ZIP bomb" in page and _students(app, teacher) == {}


def test_zip_bomb_by_total_size_is_refused(app, teacher, monkeypatch):
    from attendance_web.roster import zip_photos

    monkeypatch.setattr(zip_photos, "MAX_TOTAL_BYTES", 200_000)
    course = teacher.create_course()
    entries = [(f"{n}.jpg", bytes(range(256)) * 400) for n in range(5)]  # 5 x 100 KB, stored
    page = _refused(teacher, course, _csv("1,A,"), _zip(entries, zipfile.ZIP_STORED))
    assert "would unpack to" in page and "ZIP bomb" in page


def test_zip_entry_lying_about_its_size_is_capped(app, teacher, monkeypatch):
    """The cap holds on the bytes actually inflated, not only on what the ZIP directory declares."""
    from attendance_web.roster import zip_photos

    monkeypatch.setattr(zip_photos, "MAX_ENTRY_BYTES", 10_000)
    archive = zipfile.ZipFile(io.BytesIO(_zip([("1.jpg", _jpeg(size=400) + b"\0" * 5_000)])))
    info = archive.infolist()[0]
    info.file_size = 5_000  # a forged directory entry
    with pytest.raises(zip_photos.EntryUnreadable):
        zip_photos.read_entry(archive, zip_photos.ZipEntry(info=info, basename="1.jpg"))


def test_zip_with_parent_and_absolute_paths_is_ignored_and_never_written(app, teacher, tmp_path):
    course = teacher.create_course()
    entries = [
        ("../../evil-parent.jpg", _jpeg()),
        ("/tmp/evil-absolute.jpg", _jpeg()),
        ("photos/../../1.jpg", _jpeg()),
        ("C:/Windows/evil-drive.jpg", _jpeg()),
        ("ok/1.jpg", _jpeg()),
    ]
    import_id, page = _preview(teacher, course, _csv("1,A,"), _zip(entries))
    text = _unescaped(page)
    for name in ("../../evil-parent.jpg", "/tmp/evil-absolute.jpg", "photos/../../1.jpg", "C:/Windows/evil-drive.jpg"):
        assert f"“{name}” was ignored: its path points outside the ZIP folder." in text
    assert "1</strong> portrait(s) to add" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    root = _photo_dir(app)
    everything = [p.name for p in root.parent.rglob("*")] + [p.name for p in Path("/tmp").glob("evil-*")]
    assert not any(name.startswith("evil-") for name in everything)
    assert _photo_count(app, teacher) == 1


def test_nested_folders_macosx_and_dotfiles(app, teacher):
    course = teacher.create_course()
    entries = [
        ("Class 7B/Term 1/1.jpg", _jpeg()),
        ("Class 7B/Term 1/2_2.JPG", _jpeg()),
        ("__MACOSX/Class 7B/._1.jpg", b"\0\5\x16\7junk"),
        ("Class 7B/.DS_Store", b"junk"),
        ("Class 7B/Thumbs.db", b"junk"),
        (".hidden/3.jpg", _jpeg()),
    ]
    import_id, page = _preview(teacher, course, _csv("1,A,", "2,B,", "3,C,"), _zip(entries))
    assert "2</strong> portrait(s) to add" in page
    assert "4 system file(s) in the ZIP (such as __MACOSX or .DS_Store) were ignored." in page
    assert "0</strong> problem(s)" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    with session_scope(_url(app)) as s:
        names = sorted(
            s.scalars(
                select(StudentPhoto.original_filename)
                .join(Student)
                .where(Student.teacher_id == _teacher_id(app, teacher))
            )
        )
    assert names == ["1.jpg", "2_2.JPG"]


def test_non_zip_and_empty_zip_are_refused(teacher):
    course = teacher.create_course()
    assert "not a ZIP file we can open" in _refused(teacher, course, _csv("1,A,"), b"this is a text file, not a zip")
    assert "not a ZIP file we can open" in _refused(teacher, course, _csv("1,A,"), _jpeg())
    assert "The ZIP file is empty" in _refused(teacher, course, _csv("1,A,"), _zip([]))
    assert "The ZIP file is empty" in _refused(
        teacher, course, _csv("1,A,"), _zip([("__MACOSX/._x", b"x"), ("d/", b"")])
    )
    assert "The ZIP file is empty (0 bytes)" in _refused(teacher, course, _csv("1,A,"), b"")


def test_photo_problems_are_listed_in_words(app, teacher):
    course = teacher.create_course()
    truncated = _jpeg(size=200)[:-200]
    entries = [
        ("1.jpg", _jpeg()),
        ("9999.jpg", _jpeg()),  # nobody has this number
        ("9999_2.jpg", _jpeg()),
        ("notes.txt", b"hello"),
        ("report.pdf", b"%PDF-1.4"),
        ("2.jpg", b"this is text renamed to .jpg"),
        ("3.jpg", truncated),
        ("4.png", b""),
    ] + [(f"5_{n}.jpg", _jpeg((n, n, n))) for n in range(2, 9)]  # seven for student 5
    import_id, page = _preview(teacher, course, _csv("1,Ann,", "2,Bo,", "3,Cy,", "4,Di,", "5,Ed,"), _zip(entries))
    text = _unescaped(page)
    assert "“9999.jpg”: no row in the CSV has student number 9999." in text
    assert "“9999_2.jpg”: no row in the CSV has student number 9999." in text
    assert "“notes.txt” is not a photo" in text and "“report.pdf” is not a photo" in text
    assert "2.jpg is not a photo we can read." in text
    assert "3.jpg is incomplete" in text
    assert "4.png is empty" in text
    assert "Ed (5): 5_7.jpg, 5_8.jpg skipped. A student can have at most 5 portraits." in text
    assert "6</strong> portrait(s) to add" in page  # 1.jpg + five of Ed's
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    assert _photo_count(app, teacher) == 6


def test_photo_limit_counts_portraits_already_stored(app, teacher, jobs_not_sent):
    course = teacher.create_course()
    student = teacher.add_student(course, "Ann", "1")
    teacher.upload_portraits(student, *[(_jpeg((40 * n, 0, 0)), f"old{n}.jpg") for n in range(4)])
    two = [("1.jpg", _jpeg()), ("1_2.jpg", _jpeg((0, 0, 200)))]
    _, page = _preview(teacher, course, _csv("1,Ann,"), _zip(two))
    text = _unescaped(page)
    assert "1_2.jpg skipped. A student can have at most 5 portraits (4 already accepted or being checked)." in text
    # Refused portraits are never used: they leave room for new ones.
    with session_scope(_url(app)) as s:
        for photo in s.scalars(select(StudentPhoto).where(StudentPhoto.student_id == student)).all()[:2]:
            photo.status = PhotoStatus.REJECTED
    _, page = _preview(teacher, course, _csv("1,Ann,"), _zip(two))
    assert "1_2.jpg skipped" not in _unescaped(page) and "2</strong> portrait(s) to add" in page


def test_stale_previews_are_dropped_with_their_files(app, teacher):
    import datetime as dt

    course = teacher.create_course()
    old_id, _ = _preview(teacher, course, _csv("1,A,"))
    with session_scope(_url(app)) as s:
        s.get(RosterImport, old_id).created_at -= dt.timedelta(days=2)
    _preview(teacher, course, _csv("2,B,"))
    assert _temp_files(app, old_id) == []
    with session_scope(_url(app)) as s:
        assert s.get(RosterImport, old_id).state == "expired"


def _thumbnail_urls(page: str) -> list[str]:
    return re.findall(r'<img src="(/roster-imports/[0-9a-f]{32}/portraits/\d+\.jpg)"', page)


def test_the_preview_shows_a_thumbnail_of_each_portrait_it_will_add(app, teacher):
    course = teacher.create_course()
    big = _jpeg((200, 30, 30), size=900)
    zip_data = _zip([("1001.jpg", big), ("1001_2.jpg", _jpeg((9, 9, 9))), ("class/1002.png", _png()), ("x.txt", b"no")])
    import_id, page = _preview(teacher, course, _csv("1001,Zoë Nowak,", "1002,Sam Lee,"), zip_data)
    urls = _thumbnail_urls(page)
    assert len(urls) == 3 and all(f"/roster-imports/{import_id}/portraits/" in u for u in urls)
    for url in urls:
        r = teacher.client.get(url)
        assert r.status_code == 200 and r.mimetype == "image/jpeg", url
        assert "private" in r.headers["Cache-Control"]
        thumb = Image.open(io.BytesIO(r.data))
        assert thumb.format == "JPEG" and max(thumb.size) <= 160  # re-encoded, small: never the ZIP's own bytes
    assert teacher.client.get(f"/roster-imports/{import_id}/portraits/999999.jpg").status_code == 404
    text_entry = next(i for i in zipfile.ZipFile(io.BytesIO(zip_data)).infolist() if i.filename == "x.txt")
    assert (
        teacher.client.get(f"/roster-imports/{import_id}/portraits/{text_entry.header_offset + 1}.jpg").status_code
        == 404
    )
    teacher.client.post(f"/roster-imports/{import_id}/cancel")
    assert teacher.client.get(urls[0]).status_code == 404  # the preview's files are gone with it


# --- isolation ------------------------------------------------------------------------------------


def test_every_roster_route_is_404_for_another_teacher(app, teacher_factory):
    alice = teacher_factory("Alice")
    course = alice.create_course()
    waiting, _ = _preview(alice, course, _csv("1,A,"), _zip([("1.jpg", _jpeg())]))
    done, _ = _preview(alice, course, _csv("2,B,"))
    alice.client.post(f"/roster-imports/{done}/confirm")
    bob = teacher_factory("Bob")
    bob_course = bob.create_course()
    attempts = [
        ("GET", f"/courses/{course}/roster"),
        ("GET", f"/courses/{course}/roster/template.csv"),
        ("POST", f"/courses/{course}/roster/imports"),
        ("GET", f"/roster-imports/{waiting}"),
        ("GET", f"/roster-imports/{waiting}/portraits/1.jpg"),
        ("POST", f"/roster-imports/{waiting}/confirm"),
        ("POST", f"/roster-imports/{waiting}/cancel"),
        ("GET", f"/roster-imports/{done}/progress"),
        ("GET", f"/roster-imports/{done}/progress.json"),
        ("GET", "/roster-imports/" + "0" * 32),
    ]
    for method, url in attempts:
        data = {"roster_csv": (io.BytesIO(_csv("9,Bob's,")), "x.csv")} if method == "POST" else None
        r = bob.client.open(url, method=method, data=data)
        assert r.status_code == 404, f"{method} {url} answered {r.status_code} to another teacher"
    assert bob.client.get(f"/roster-imports/{done}/progress.json").get_json()["error"]["code"] == "not_found"
    # Nothing of Alice's moved: her waiting import still waits with its files, Bob has no students.
    assert alice.client.get(f"/roster-imports/{waiting}").status_code == 200
    assert len(_temp_files(app, waiting)) == 2
    assert _students(app, bob) == {}
    # Bob's own course with Alice's import id is still 404 (the import is looked up by its owner).
    assert bob.client.get(f"/courses/{bob_course}/roster").status_code == 200
    assert bob.client.post(f"/roster-imports/{waiting}/confirm", data={"course_id": bob_course}).status_code == 404


# --- end to end with the real worker --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.facedata
def test_import_three_students_with_real_portraits_end_to_end(app, teacher, celery_worker_process):
    facedata = require_facedata()
    people = ["Angelina_Jolie", "Bill_Gates", "Andre_Agassi"]
    entries = []
    for n, person in enumerate(people, 1):
        for k, path in enumerate(sorted((facedata / "lfw" / "identities" / person).glob("*.jpg"))[:2], 1):
            entries.append((f"portraits/{n}{'' if k == 1 else f'_{k}'}.jpg", path.read_bytes()))
    course = teacher.create_course()
    import_id, page = _preview(
        teacher, course, _csv(*(f"{n},{p.replace('_', ' ')}," for n, p in enumerate(people, 1))), _zip(entries)
    )
    assert f"{len(entries)}</strong> portrait(s) to add" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    status = wait_for(
        lambda: (s := teacher.client.get(f"/roster-imports/{import_id}/progress.json").get_json())["done"] and s,
        300,
        1.0,
        "portraits checked",
    )
    assert status["total"] == len(entries)
    assert status["accepted"] >= 3, status
    students = _students(app, teacher)
    with session_scope(_url(app)) as s:
        for student in students.values():
            statuses = s.scalars(select(StudentPhoto.status).where(StudentPhoto.student_id == student.id)).all()
            assert PhotoStatus.ACCEPTED in statuses, (student.name, statuses)


def test_the_same_photo_twice_is_added_once_and_a_rename_is_shown(app, teacher, jobs_not_sent):
    """A photo repeated in the ZIP, or one the student already has, is added once; a name that changes is its
    own section of the preview (it changes in every course of that student), not hidden in a table cell."""
    course = teacher.create_course()
    student = teacher.add_student(course, "Zoë Ångström", "1")
    theirs = _jpeg((200, 10, 10))
    teacher.upload_portraits(student, (theirs, "zoe.jpg"))
    other = teacher.create_course("Other")
    zip_data = _zip([("1.jpg", theirs), ("2.jpg", _jpeg()), ("2_2.jpg", _jpeg())])
    import_id, page = _preview(teacher, other, _csv("1,Zoe Angstrom,", "2,Bo Two,"), zip_data)
    text = _unescaped(page)
    assert "“1.jpg”: Zoe Angstrom already has this photo; it is not added again." in text
    assert "“2_2.jpg”: Bo Two already has this photo; it is not added again." in text
    assert "1: “Zoë Ångström” becomes “Zoe Angstrom”." in text
    assert "<strong>0</strong> problem(s)" in page and "1</strong> portrait(s) to add" in page
    teacher.client.post(f"/roster-imports/{import_id}/confirm")
    with session_scope(_url(app)) as s:
        mine = select(Student.teacher_id).where(Student.id == student).scalar_subquery()
        names = s.scalars(select(StudentPhoto.original_filename).join(Student).where(Student.teacher_id == mine)).all()
    assert names.count("1.jpg") == 0 and names.count("2.jpg") == 1 and "2_2.jpg" not in names


def test_a_photo_refused_earlier_is_named_as_refused_with_its_reason(app, teacher, jobs_not_sent):
    """The import leaves out a photo the student already has; one that was refused is said to be refused, and
    why (so the teacher picks another photo), and counts as a problem: the student still needs a portrait."""
    course = teacher.create_course()
    student = teacher.add_student(course, "Ann", "1")
    refused = _jpeg((10, 200, 200))
    teacher.upload_portraits(student, (refused, "ann.jpg"))
    with session_scope(_url(app)) as s:  # what the worker wrote
        row = s.scalar(select(StudentPhoto).where(StudentPhoto.student_id == student))
        row.status, row.reason = PhotoStatus.REJECTED, "2 faces in ann.jpg: upload a photo of this student alone"
    _, page = _preview(teacher, course, _csv("1,Ann,"), _zip([("1.jpg", refused)]))
    text = _unescaped(page)
    assert (
        "“1.jpg”: this photo was refused earlier for Ann: 2 faces in ann.jpg: upload a photo of this student alone. "
        "It is not added again: add another photo of them."
    ) in text
    assert "already has this photo" not in text
    assert "<strong>1</strong> problem(s)" in page and "<strong>0</strong> portrait(s) to add" in page


def test_renames_and_photos_already_there_are_not_listed_as_wrong(app, teacher, jobs_not_sent):
    """A rename is applied and a photo already there is simply not added twice: the preview shows them under
    "What will change", not under "What is wrong — left out", which keeps what is really left out."""
    course = teacher.create_course()
    student = teacher.add_student(course, "Ann", "1")
    theirs = _jpeg((30, 60, 220))
    teacher.upload_portraits(student, (theirs, "ann.jpg"))
    zip_data = _zip([("1.jpg", theirs), ("99.jpg", _jpeg())])
    _, page = _preview(teacher, course, _csv("1,Ann Smith,", "2,Bo,not-an-email"), zip_data)
    text = _unescaped(page)
    wrong, changes = text.index("What is wrong"), text.index("What will change")
    assert wrong < changes
    problems, changing = text[wrong:changes], text[changes : text.index("Students in the file")]
    assert "“99.jpg”: no row in the CSV has student number 99." in problems
    assert "1: “Ann” becomes “Ann Smith”." in changing and "already has this photo" in changing
    assert "not an email address" in changing
    assert "becomes" not in problems and "already has this photo" not in problems
    assert "<strong>1</strong> problem(s)" in page
    # Nothing left out: no "What is wrong" at all.
    _, page = _preview(teacher, course, _csv("1,Ann Jones,"), _zip([("1.jpg", theirs)]))
    text = _unescaped(page)
    assert "What is wrong" not in text and "left out" not in text
    assert "What will change" in text and "“Ann” becomes “Ann Jones”" in text
