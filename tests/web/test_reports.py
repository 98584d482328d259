"""Reports: per session, per course (matrix, rates, threshold, chart), per student; CSV / XLSX / PDF
exports with formula injection neutralised and Unicode names; ownership; query count and plan."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import uuid
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import delete, event, insert, select, text

from attendance_shared.db import engine_for, session_scope
from attendance_shared.models import (
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    DetectedFace,
    Enrollment,
    FaceDecision,
    FaceReview,
    RecordSource,
    School,
    SessionPhoto,
    Student,
    Teacher,
)
from attendance_web.reports import csv_export, pdf_export, xlsx_export
from attendance_web.reports.document import Document, Table
from attendance_web.reports.queries import (
    RATE_DEFINITION,
    DateRange,
    course_matrix,
    records_query,
    session_report,
    student_history,
)

P, A, E = AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED
INJECTION = "=cmd|' /C calc'!A0"
NAMES = {
    "zoe": "Zoë Ångström",
    "li": "李雷",
    "evil": INJECTION,
    "html": "<script>alert(1)</script>",
    "amy": "Amy Present",
}
DATES = [dt.date(2026, 10, 1), dt.date(2026, 10, 8), dt.date(2026, 10, 15), dt.date(2026, 10, 22)]
# Marks per student, one per date; None = no record (e.g. joined late).
MARKS = {
    "amy": [P, P, P, P],  # 100%
    "zoe": [P, A, E, P],  # 2 / 3 = 66.7% (excused left out) -> below 80%
    "li": [None, None, P, P],  # 2 / 2 = 100% (unmarked sessions left out)
    "evil": [A, A, A, P],  # 25%
    "html": [E, E, None, None],  # no session counts -> no rate, never flagged
}


def _url(app) -> str:
    return app.config["ATTENDANCE_SETTINGS"].sqlalchemy_url


def _stored_photo(s, session_id: int, filename: str) -> SessionPhoto:
    """A classroom photo row (its file already purged), flushed so its faces can point at it."""
    photo = SessionPhoto(
        session_id=session_id,
        storage_key=None,
        original_filename=filename,
        content_type="image/jpeg",
        content_sha256=uuid.uuid4().hex,
        width=100,
        height=100,
    )
    s.add(photo)
    s.flush()
    return photo


@pytest.fixture()
def school(app, teacher_factory):
    """Alice's course with five students (awkward names), four sessions of marks, a second course
    that shares one student, and a photo with one unknown, one assigned and one pending face."""
    alice = teacher_factory("Alice")
    course = alice.create_course("Biología 1")
    ids = {key: alice.add_student(course, name, f"S-{i}") for i, (key, name) in enumerate(NAMES.items())}
    other = alice.create_course("Chemistry")
    with session_scope(_url(app)) as s:
        s.add(Enrollment(course_id=other, student_id=ids["zoe"]))
        sessions = []
        for i, date in enumerate(DATES):
            att = AttendanceSession(course_id=course, date=date, label=f"Period {i + 1}")
            s.add(att)
            s.flush()
            sessions.append(att.id)
            for key, marks in MARKS.items():
                if marks[i] is not None:
                    source = RecordSource.MANUAL if marks[i] == E else RecordSource.AUTO
                    similarity = 0.71 if marks[i] == P else None
                    s.add(
                        AttendanceRecord(
                            session_id=att.id,
                            student_id=ids[key],
                            status=marks[i],
                            source=source,
                            similarity=similarity,
                        )
                    )
        chem = AttendanceSession(course_id=other, date=dt.date(2026, 10, 2), label="Lab")
        s.add(chem)
        s.flush()
        s.add(AttendanceRecord(session_id=chem.id, student_id=ids["zoe"], status=A, source=RecordSource.MANUAL))
        photo = _stored_photo(s, sessions[0], "room.jpg")
        face = {"session_photo_id": photo.id, "box": [1, 2, 30, 40], "detection_score": 0.9, "model_id": "m"}
        s.add(DetectedFace(face_index=0, decision=FaceDecision.UNKNOWN, **face))
        s.add(
            DetectedFace(
                face_index=1,
                decision=FaceDecision.UNKNOWN,
                student_id=ids["amy"],
                review=FaceReview.ASSIGNED,
                **face,
            )
        )
        s.add(DetectedFace(face_index=2, decision=FaceDecision.CONFIRM, candidate_student_id=ids["zoe"], **face))
    return alice, course, other, ids, sessions


# --- the reporting functions ------------------------------------------------------------------


def test_course_matrix_rates_follow_the_definition(app, school):
    _alice, course_id, _other, ids, sessions = school
    with session_scope(_url(app)) as s:
        m = course_matrix(s, s.get(Course, course_id))
    rows = {r.student.id: r for r in m.rows}
    assert [x.id for x in m.sessions] == sessions
    assert rows[ids["amy"]].rate == 1.0
    assert rows[ids["zoe"]].rate == pytest.approx(2 / 3)  # excused not in the denominator
    assert rows[ids["li"]].rate == 1.0  # sessions without a mark not counted
    assert rows[ids["evil"]].rate == 0.25
    assert rows[ids["html"]].rate is None
    assert rows[ids["zoe"]].marks == MARKS["zoe"]
    assert {r.student.id for r in m.below} == {ids["zoe"], ids["evil"]}
    assert [t.tally.present for t in m.totals] == [2, 1, 2, 4]
    assert m.totals[0].tally.not_recorded == 1
    assert [r.student.name for r in m.rows] == sorted(NAMES.values())


def test_course_matrix_date_range_and_threshold(app, school):
    _alice, course_id, _other, ids, _sessions = school
    with session_scope(_url(app)) as s:
        course = s.get(Course, course_id)
        m = course_matrix(s, course, DateRange(dt.date(2026, 10, 10), dt.date(2026, 10, 31)), threshold=0.5)
        empty = course_matrix(s, course, DateRange(dt.date(2025, 1, 1), dt.date(2025, 1, 2)))
    assert [x.date for x in m.sessions] == DATES[2:]
    rows = {r.student.id: r for r in m.rows}
    assert rows[ids["zoe"]].rate == 1.0  # E, P
    assert rows[ids["evil"]].rate == 0.5
    assert m.below == []  # 50% is not below a 50% threshold
    assert empty.sessions == [] and empty.totals == [] and len(empty.rows) == len(NAMES)


def test_session_report_counts_and_unknown_faces(app, school):
    _alice, _course, _other, ids, sessions = school
    with session_scope(_url(app)) as s:
        report = session_report(s, s.get(AttendanceSession, sessions[0]))
    t = report.tally
    assert (t.present, t.absent, t.excused, t.not_recorded) == (2, 1, 1, 1)
    assert {line.student.id for line in report.with_status(P)} == {ids["amy"], ids["zoe"]}
    assert [line.student.id for line in report.with_status(None)] == [ids["li"]]
    # Only the face matched to nobody and not assigned is unknown; the confirm face is pending.
    assert len(report.unknown_faces) == 1 and report.unknown_faces[0].photo_filename == "room.jpg"
    assert report.faces_to_confirm == 1


def test_student_history_spans_the_teachers_courses(app, school):
    _alice, _course, _other, ids, _sessions = school
    with session_scope(_url(app)) as s:
        history = student_history(s, s.get(Student, ids["zoe"]))
    assert [(line.course_name, line.session.date) for line in history.lines][:3] == [
        ("Biología 1", DATES[3]),
        ("Biología 1", DATES[2]),
        ("Biología 1", DATES[1]),
    ]
    chem = [line for line in history.lines if line.course_name == "Chemistry"]
    assert len(chem) == 1 and chem[0].status == A and chem[0].source == RecordSource.MANUAL
    first = history.lines[-1]
    assert first.status == P and first.source == RecordSource.AUTO and first.similarity == pytest.approx(0.71)
    assert history.tally.present == 2 and history.tally.absent == 2 and history.tally.excused == 1


# --- the pages --------------------------------------------------------------------------------


def test_course_report_page(school):
    alice, course, _other, _ids, _sessions = school
    r = alice.client.get(f"/reports/courses/{course}")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert RATE_DEFINITION in page
    assert page.count('<span class="flag">Below 80%</span>') >= 2  # a text marker, not colour alone
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    # The chart: inline SVG with a title and description, and its table fallback; no inline styles (CSP).
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="chart-title chart-desc"', page)
    assert '<title id="chart-title">' in page and '<desc id="chart-desc">' in page
    assert "The chart&#39;s figures as a table" in page or "The chart's figures as a table" in page
    assert " style=" not in page and "<style" not in page
    for fmt in ("csv", "xlsx", "pdf"):
        assert f"format={fmt}" in page
    # The threshold is the teacher's: at 30% only the 25% student is flagged.
    page30 = alice.client.get(f"/reports/courses/{course}?threshold=30").get_data(as_text=True)
    assert page30.count('<span class="flag">Below 30%</span>') == 1


def test_course_report_tolerates_bad_filters(school):
    alice, course, _other, _ids, _sessions = school
    r = alice.client.get(f"/reports/courses/{course}?from=yesterday&to=2026-13-45&threshold=abc")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "is not a date like" in page and "percentage from 0 to 100" in page
    r = alice.client.get(f"/reports/courses/{course}?from=2026-10-20&to=2026-10-10")
    assert r.status_code == 200 and "swapped" in r.get_data(as_text=True)
    assert alice.client.get(f"/reports/courses/{course}/export?format=docx").status_code == 400


def test_session_export_filename(school):
    alice, _course, _other, _ids, sessions = school
    r = _download(alice.client, f"/reports/sessions/{sessions[0]}/export", "pdf")
    assert r.headers["Content-Disposition"] == 'attachment; filename="session-biologia-1-2026-10-01-period-1.pdf"'
    assert r.mimetype == "application/pdf"


def test_session_and_student_pages(school):
    alice, _course, _other, ids, sessions = school
    page = alice.client.get(f"/reports/sessions/{sessions[0]}").get_data(as_text=True)
    assert "Unknown faces (1)" in page and "Present (2)" in page and "Not marked (1)" in page
    assert "waiting for you to confirm" in page
    page = alice.client.get(f"/reports/students/{ids['zoe']}").get_data(as_text=True)
    assert "Chemistry" in page and "Biología 1" in page and "decided by the teacher" in page and "0.71" in page
    assert RATE_DEFINITION in page


def test_unknown_faces_are_numbered_as_on_the_review_page(app, school):
    """Face numbers ("Face 3 in photo 2") in the report, its export and on the review page alike; no database ids."""
    alice, _course, _other, _ids, sessions = school
    with session_scope(_url(app)) as s:
        photo = _stored_photo(s, sessions[0], "corridor.jpg")
        face = DetectedFace(
            session_photo_id=photo.id,
            face_index=2,
            decision=FaceDecision.UNKNOWN,
            box=[5, 5, 20, 20],
            detection_score=0.8,
            model_id="m",
        )
        s.add(face)
        s.flush()
        first_id = s.scalar(
            select(DetectedFace.id).join(SessionPhoto).where(SessionPhoto.session_id == sessions[0]).limit(1)
        )
        ids = (first_id, face.id)
    page = alice.client.get(f"/reports/sessions/{sessions[0]}").get_data(as_text=True)
    unknown = page[page.index("Unknown faces (2)") :]
    assert "Face 1 in photo 1</a>" in unknown and "(room.jpg, detection score 0.90)" in unknown
    assert "Face 3 in photo 2</a>" in unknown and "(corridor.jpg, detection score 0.80)" in unknown
    assert f'href="/sessions/{sessions[0]}#face-{ids[1]}"' in unknown  # straight to it on the review page
    assert "face #" not in page and not any(f"#{i} " in page or f"#{i}<" in page for i in ids)
    review = alice.client.get(f"/sessions/{sessions[0]}").get_data(as_text=True)
    assert "Face 3 in photo 2: unknown" in review and "Photo 2: corridor.jpg" in review

    wb = load_workbook(io.BytesIO(_download(alice.client, f"/reports/sessions/{sessions[0]}/export", "xlsx").data))
    rows = [[c.value for c in row] for row in wb["Unknown faces"].iter_rows()]
    header = ["Photo", "Photo number", "Face number", "Box (x1, y1, x2, y2)", "Detection score"]
    at = rows.index(header)
    assert [r[:3] for r in rows[at + 1 :]] == [["room.jpg", 1, 1], ["corridor.jpg", 2, 3]]
    text_ = _pdf_text(_download(alice.client, f"/reports/sessions/{sessions[0]}/export", "pdf").data)
    assert "Face number" in text_ and "Face id" not in text_


def test_reports_of_an_empty_course_and_a_new_student(teacher):
    course = teacher.create_course("Empty")
    assert "No sessions in this range yet." in teacher.client.get(f"/reports/courses/{course}").get_data(as_text=True)
    student = teacher.add_student(course, "Nova", "N-1")
    assert teacher.client.get(f"/reports/students/{student}").status_code == 200
    for fmt in ("csv", "xlsx", "pdf"):
        r = _download(teacher.client, f"/reports/courses/{course}/export", fmt)
        assert len(r.data) > 0
        r = _download(teacher.client, f"/reports/students/{student}/export", fmt)
        assert 'filename="history-n-1-all.' in r.headers["Content-Disposition"]


# --- exports ----------------------------------------------------------------------------------


FULL_WIDTH = ["\uff1d1+2", "\uff0b1", "\uff0d1", "\uff20SUM(A1)"]  # full-width = + - @: formulas in East Asian locales


@pytest.mark.parametrize("value", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", INJECTION, *FULL_WIDTH])
def test_neutralise_prefixes_formula_triggers(value):
    assert csv_export.neutralise(value) == "'" + value
    assert (
        csv_export.neutralise("Zoë") == "Zoë"
        and csv_export.neutralise(-1) == -1
        and csv_export.neutralise(None) is None
    )


def _download(client, url: str, fmt: str):
    r = client.get(f"{url}?format={fmt}")
    assert r.status_code == 200, r.data[:300]
    assert r.headers["Content-Disposition"].startswith("attachment; filename=")
    assert r.headers["Content-Disposition"].endswith(f'.{fmt}"')
    return r


def test_csv_export_neutralises_formulas(school):
    alice, course, _other, _ids, _sessions = school
    r = _download(alice.client, f"/reports/courses/{course}/export", "csv")
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"  # one charset, not two
    assert 'filename="attendance-biologia-1-all.csv"' in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Student", "Number"] and rows[0][8:] == [
        f"{d.isoformat()} · Period {i + 1}" for i, d in enumerate(DATES)
    ]
    names = [row[0] for row in rows[1:]]
    assert "'" + INJECTION in names and INJECTION not in names
    assert "Zoë Ångström" in names and "李雷" in names
    zoe = next(row for row in rows if row[0] == "Zoë Ångström")
    assert zoe[2:8] == ["2", "0", "1", "1", "66.7", "BELOW"] and zoe[8:] == ["P", "A", "E", "P"]
    session_csv = _download(alice.client, f"/reports/sessions/{_sessions[0]}/export", "csv").data.decode("utf-8-sig")
    assert "'" + INJECTION in session_csv and "\n" + INJECTION not in session_csv
    history = list(
        csv.reader(
            io.StringIO(
                _download(alice.client, f"/reports/students/{_ids['zoe']}/export", "csv").data.decode("utf-8-sig")
            )
        )
    )
    assert history[0] == ["Student", "Number", "Date", "Course", "Label", "Status", "How", "Similarity", "Note"]
    assert len(history) == 6 and {tuple(row[:2]) for row in history[1:]} == {("Zoë Ångström", "S-0")}
    # Whose history it is, in the file itself (not only its name); a formula-like name stays text.
    evil = list(
        csv.reader(
            io.StringIO(
                _download(alice.client, f"/reports/students/{_ids['evil']}/export", "csv").data.decode("utf-8-sig")
            )
        )
    )
    assert evil[0][:2] == ["Student", "Number"] and len(evil) > 1
    assert all(row[:2] == ["'" + INJECTION, "S-2"] for row in evil[1:])


def test_xlsx_export_has_names_and_no_formulas(school):
    alice, course, _other, _ids, _sessions = school
    r = _download(alice.client, f"/reports/courses/{course}/export", "xlsx")
    wb = load_workbook(io.BytesIO(r.data))
    ws = wb["Students by session"]
    values = [[c.value for c in row] for row in ws.iter_rows()]
    names = [row[0] for row in values[1:]]
    assert "Zoë Ångström" in names and "李雷" in names and "<script>alert(1)</script>" in names
    assert INJECTION in names  # shown as typed: a string cell is never run, so no apostrophe as in the CSV
    for sheet in wb.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"
    assert "Attendance over time" in wb.sheetnames and "About" in wb.sheetnames
    for url in (f"/reports/sessions/{_sessions[0]}/export", f"/reports/students/{_ids['zoe']}/export"):
        load_workbook(io.BytesIO(_download(alice.client, url, "xlsx").data))


def test_xlsx_text_cells_are_typed_strings_in_the_file_itself():
    """What the module docstring promises, as Excel reads it: each text cell is an inline string (t="inlineStr"),
    the formula trigger kept as typed with no apostrophe, and no <f> formula element anywhere."""
    import zipfile

    names = [INJECTION, "+1", "-2", "@SUM(A1)", "Zoë"]
    doc = Document("T", "t", ["=note"], [Table("=T", ["=Name"], [[n] for n in names])])
    book = zipfile.ZipFile(io.BytesIO(xlsx_export.to_xlsx(doc)))
    sheets = [n for n in book.namelist() if n.startswith("xl/worksheets/")]
    assert len(sheets) == 2  # the table and "About"
    for sheet in sheets:
        xml = book.read(sheet).decode()
        cells = re.findall(r"<c [^>]*>", xml)
        assert cells and all('t="inlineStr"' in cell for cell in cells), cells
        assert "<f>" not in xml and "<f " not in xml and "<t>'" not in xml
    table = book.read(sheets[0]).decode()
    assert all(f"<t>{n}</t>" in table for n in ["=Name", "+1", "-2", "@SUM(A1)", "Zoë"])
    assert "<t>=cmd|' /C calc'!A0</t>" in table or "<t>=cmd|&apos; /C calc&apos;!A0</t>" in table


def test_xlsx_dates_are_date_cells_and_text_stays_text(school):
    """A session's day was written as the text "2026-10-01": Excel sorted and filtered it as text. The course
    ("Attendance over time") and student history workbooks now hold real date cells shown as yyyy-mm-dd; the
    cells beside them stay typed text and numbers."""
    alice, course, _other, ids, _sessions = school
    wb = load_workbook(io.BytesIO(_download(alice.client, f"/reports/courses/{course}/export", "xlsx").data))
    ws = wb["Attendance over time"]
    assert [c.value for c in ws[1]][:2] == ["Date", "Label"]
    days = [ws.cell(row=r, column=1) for r in range(2, ws.max_row + 1)]
    assert [c.value for c in days] == [dt.datetime.combine(d, dt.time()) for d in DATES]  # openpyxl reads a datetime
    assert all(c.is_date and c.data_type == "d" and c.number_format == "yyyy-mm-dd" for c in days)
    assert ws["B2"].value == "Period 1" and ws["B2"].data_type == "s" and ws["C2"].data_type == "n"
    students = wb["Students by session"]
    assert students["A1"].data_type == "s" and not any(c.is_date for row in students.iter_rows() for c in row)

    history = load_workbook(io.BytesIO(_download(alice.client, f"/reports/students/{ids['zoe']}/export", "xlsx").data))
    ws = history["Sessions"]
    assert [c.value for c in ws[1]][:4] == ["Student", "Number", "Date", "Course"]
    days = [ws.cell(row=r, column=3) for r in range(2, ws.max_row + 1)]
    assert days and all(c.is_date and c.number_format == "yyyy-mm-dd" for c in days)
    assert set(DATES) <= {c.value.date() for c in days}  # her four Biología sessions among them
    assert ws["A2"].data_type == "s" and ws["D2"].data_type == "s"  # name and course stay text


def test_xlsx_date_column_keeps_what_is_not_a_date_as_text():
    doc = Document("T", "t", [], [Table("T", ["Date", "Name"], [["2026-02-30", "2026-10-01"], ["", "x"], [None, "y"]])])
    ws = load_workbook(io.BytesIO(xlsx_export.to_xlsx(doc)))["T"]
    assert ws["A2"].value == "2026-02-30" and ws["A2"].data_type == "s"  # no such day: as written
    assert ws["B2"].value == "2026-10-01" and ws["B2"].data_type == "s"  # not a date column: text
    assert ws["A3"].value in ("", None) and ws["A4"].value is None


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.fonts
def test_pdf_export_renders_unicode_names(school):
    alice, course, _other, _ids, sessions = school
    text_ = _pdf_text(_download(alice.client, f"/reports/courses/{course}/export", "pdf").data)
    assert "Attendance report: Biología 1" in text_
    assert "Zoë Ångström" in text_ and INJECTION in text_ and "Amy Present" in text_
    if pdf_export.find_unicode_font() is None:
        pytest.fail("DejaVu Sans is expected on the test machine (Debian's fonts-dejavu-core)")
    # DejaVu Sans has no CJK glyphs: Droid Sans Fallback draws them (a printed register must name every child).
    if pdf_export.find_fallback_font() is None:
        pytest.fail("Droid Sans Fallback is expected on the test machine (Debian's fonts-droid-fallback)")
    assert "李雷" in text_ and "??" not in text_
    for url in (f"/reports/sessions/{sessions[0]}/export", f"/reports/students/{_ids['zoe']}/export"):
        assert "Zoë Ångström" in _pdf_text(_download(alice.client, url, "pdf").data)


def test_pdf_without_a_cjk_font_prints_question_marks_not_nothing(monkeypatch):
    monkeypatch.setattr(pdf_export, "FALLBACK_FONT_CANDIDATES", ())
    doc = Document("Report", "x", [], [Table("T", ["Name"], [["李雷"], ["Zoë"]])])
    text_ = _pdf_text(pdf_export.to_pdf(doc))
    assert "Zoë" in text_ and "??" in text_


@pytest.mark.fonts
def test_cjk_names_are_measured_in_their_own_font_and_wrap():
    """A long Chinese note must wrap inside its cell like a Latin one, not run over the next column."""
    out = pdf_export._Pdf("t", set("李雷"))
    out.pdf.add_page()
    out.pdf.set_font(out.family, "", 9)
    assert out.width("李雷") > out.width("李") > 0
    lines = out.wrap("李雷 " * 30, 40)
    assert 1 < len(lines) <= pdf_export.MAX_CELL_LINES and all(out.width(line) <= 40 for line in lines)


CJK_NOTE = "上课迟到了十分钟因为公交车晚点了请老师原谅我们明天会早一点出门的谢谢老师"  # 38 characters, no spaces


def _cjk_pdf(size: float) -> pdf_export._Pdf:
    out = pdf_export._Pdf("t", set(CJK_NOTE))
    if not out.has_fallback:
        pytest.fail("Droid Sans Fallback is expected on the test machine (Debian's fonts-droid-fallback)")
    out.pdf.add_page()
    out.pdf.set_font(out.family, "", size)
    return out


def _fits(out: pdf_export._Pdf, lines: list[str], width: float) -> bool:
    return all(out.width(line) + 2 * pdf_export.CELL_PADDING <= width for line in lines)


@pytest.mark.fonts
@pytest.mark.parametrize("length", range(12, 23))
def test_a_short_chinese_note_is_measured_not_estimated(length):
    """A Chinese character is a full em wide: 15-22 of them passed the 0.62 em estimate and ran into the next column."""
    out = _cjk_pdf(9)
    note = CJK_NOTE[:length]
    for width in (40.0, 55.0):
        shown = out.fit(note, width)
        assert _fits(out, [shown], width), (length, width, shown)
        assert shown == note or shown.endswith("...")
        lines = out.wrap(note, width)
        assert _fits(out, lines, width) and "".join(lines) == note, (length, width, lines)


@pytest.mark.fonts
@pytest.mark.parametrize(("size", "width", "count"), [(7, 40.0, 3), (9, 40.0, 4), (9, 55.0, 3), (7, 30.0, 4)])
def test_unspaced_chinese_note_wraps_between_characters_and_loses_nothing(size, width, count):
    """It was one 'word', cut to one line with '...'. Now it breaks between characters; each line fits its cell."""
    out = _cjk_pdf(size)
    lines = out.wrap(CJK_NOTE, width)
    assert len(lines) == count and _fits(out, lines, width), lines
    assert "".join(lines) == CJK_NOTE  # every character, once, in order


@pytest.mark.fonts
def test_an_unspaced_chinese_note_too_long_for_its_lines_is_cut_on_the_last_one():
    out = _cjk_pdf(9)
    lines = out.wrap(CJK_NOTE * 2, 40.0)
    assert len(lines) == pdf_export.MAX_CELL_LINES and _fits(out, lines, 40.0)
    assert lines[-1].endswith("...") and (CJK_NOTE * 2).startswith("".join(lines)[:-3])
    assert all(out.width(line + "上") + 2 * pdf_export.CELL_PADDING > 40.0 for line in lines[:-1])  # full lines


@pytest.mark.fonts
def test_wrapped_lines_keep_closing_punctuation_with_the_text_before_it():
    out = _cjk_pdf(9)
    note = "他说「我明天请假。」" * 4
    for width in (20.0, 25.0, 30.0):
        lines = out.wrap(note, width, max_lines=20)
        assert _fits(out, lines, width) and "".join(lines) == note
        assert not any(line.startswith(("。", "」")) or line.endswith("「") for line in lines), lines


@pytest.mark.fonts
def test_mixed_latin_and_chinese_note_keeps_its_spaces_and_wraps_inside_it():
    out = _cjk_pdf(9)
    note = "Bus late: 公交车晚点了请老师原谅 back at 10:30"
    lines = out.wrap(note, 35.0)
    assert _fits(out, lines, 35.0) and len(lines) > 1
    assert all(line in note for line in lines) and "".join(lines).replace(" ", "") == note.replace(" ", "")


@pytest.mark.fonts
def test_a_word_longer_than_its_cell_is_cut_across_lines_not_lost():
    """The fallback for any unbreakable run (a long e-mail address, a name without spaces)."""
    out = pdf_export._Pdf("t")
    out.pdf.add_page()
    out.pdf.set_font(out.family, "", 9)
    word = "Wolfeschlegelsteinhausenbergerdorff"
    lines = out.wrap(f"Note: {word} ok", 40.0)
    assert _fits(out, lines, 40.0) and len(lines) == 3 and lines[0] == "Note:"
    assert "".join(lines).replace(" ", "") == f"Note:{word}ok"
    lines = out.wrap(word * 2, 55.0)
    assert _fits(out, lines, 55.0) and len(lines) == 3 and "".join(lines) == word * 2
    many = out.wrap("x" * 500, 40.0)
    assert len(many) == pdf_export.MAX_CELL_LINES and many[-1].endswith("...") and _fits(out, many, 40.0)


@pytest.mark.fonts
def test_pdf_prints_an_unspaced_chinese_note_whole():
    """End to end: the note wraps in the PDF's table and every character comes out."""
    note = CJK_NOTE[:30]
    header = ["Student", "Number", "Status", "Similarity", "Note"]  # a 55 mm note column: 30 characters need 2 lines
    table = Table("Records", header, [["李雷", "7", "present", 0.9, note]])
    doc = Document("Session", "s", [], [table])
    text_ = re.sub(r"\s+", "", _pdf_text(pdf_export.to_pdf(doc)))
    assert note in text_ and "..." not in text_


CAPITALS_NAME = "WOJCIECHOWSKA-MAŁGORZATA KOWALCZYK"  # 56.6 mm at 7 pt: the old 0.62 em estimate said 52 mm


@functools.cache
def _font_metrics(path: str) -> tuple[dict[int, str], Any, int]:
    font = TTFont(path)
    return font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm


def _real_width(text_: str, size: float, style: str = "") -> float:
    """The printed width (mm) from the font file's own advance widths (fontTools), not fpdf2's; fpdf2 rounds
    each advance to 1/1000 em for the PDF, so the result is allowed that much per character."""
    font = pdf_export.find_unicode_font()
    assert font is not None, "DejaVu Sans is expected on the test machine (Debian's fonts-dejavu-core)"
    cmap, hmtx, units = _font_metrics(str(font.with_name("DejaVuSans-Bold.ttf") if style else font))
    em = size * 25.4 / 72
    return sum(hmtx[cmap[ord(ch)]][0] for ch in text_) / units * em - len(text_) * 0.0005 * em


def _latin_pdf(size: float, style: str = "") -> pdf_export._Pdf:
    out = pdf_export._Pdf("t")
    out.pdf.add_page()
    out.pdf.set_font(out.family, style, size)
    return out


def _fits_really(lines: list[str], width: float, size: float, style: str = "") -> bool:
    return all(_real_width(line, size, style) + 2 * pdf_export.CELL_PADDING <= width for line in lines)


@pytest.mark.fonts
@pytest.mark.parametrize("style", ["", "B"])
def test_an_all_capitals_name_stays_in_its_column(style):
    """It passed the 0.62 em estimate unmeasured and was drawn 3.6 mm into the next column."""
    assert len(CAPITALS_NAME) * 7 * 25.4 / 72 * 0.62 + 2 * pdf_export.CELL_PADDING <= 55.0  # what let it through
    assert _real_width(CAPITALS_NAME, 7, style) + 2 * pdf_export.CELL_PADDING > 55.0
    out = _latin_pdf(7, style)
    shown = out.fit(CAPITALS_NAME, 55.0)
    assert shown.endswith("...") and _fits_really([shown], 55.0, 7, style), shown
    lines = out.wrap(CAPITALS_NAME, 55.0)
    assert lines == ["WOJCIECHOWSKA-MAŁGORZATA", "KOWALCZYK"] and _fits_really(lines, 55.0, 7, style)


@pytest.mark.fonts
@pytest.mark.parametrize("letter", ["W", "M", "@", "Ж", "Ш"])
@pytest.mark.parametrize(("size", "style"), [(7, ""), (7, "B"), (9, ""), (9, "B")])
def test_rows_of_wide_letters_never_exceed_narrow_cells(letter, size, style):
    out = _latin_pdf(size, style)
    for width in (6.0, 8.0, 12.3, 15.0, 22.0, 30.0):
        for count in range(1, 30):
            text_ = letter * count
            shown = out.fit(text_, width)
            assert shown == text_ or shown.endswith("...")
            assert _fits_really([shown], width, size, style) or shown == "...", (width, count, shown)
            lines = out.wrap(f"{text_} {text_}", width)
            assert _fits_really(lines, width, size, style) or "..." in lines, (width, count, lines)


def test_text_that_surely_fits_is_not_measured(monkeypatch):
    """The estimate is an upper bound, computed once per font: a short cell (a mark, a name) skips measuring."""
    out = _latin_pdf(7)

    def measured(text_: str) -> float:
        raise AssertionError(f"{text_!r} was measured")

    monkeypatch.setattr(out, "width", measured)
    for text_ in ("P", "Zoë Ångström", "Student 0001", "N000123", "87.5", "WWWWW WWWWW WWWWW"):
        assert out.fit(text_, 55.0) == text_ and out.wrap(text_, 55.0) == [text_]


def test_wide_letters_fit_their_cells_in_helvetica_too(monkeypatch):
    monkeypatch.setattr(pdf_export, "FONT_CANDIDATES", ())
    out = _latin_pdf(7)
    assert out.family == "Helvetica"
    for count in range(1, 30):
        shown = out.fit("W" * count, 12.3)
        assert shown == "..." or out.width(shown) + 2 * pdf_export.CELL_PADDING <= 12.3, shown


@pytest.mark.parametrize("sep", ["\n", "\r\n", "\r", "\t", " \n\n ", "\u00a0", "\u3000", "\u2028"])
def test_line_breaks_and_tabs_in_a_cell_separate_words(sep):
    """A teacher's note "late\nbus" printed "latebus": non-printing whitespace was dropped, not read as a space."""
    out = _latin_pdf(9)
    assert out.text(f"late{sep}bus") == "late bus"
    assert out.text(f"\tLate:{sep}bus{sep}") == "Late: bus" and out.text("a\x00b") == "ab"
    note = f"Arrived 10 minutes late{sep}because the bus{sep}broke down on the bridge"
    lines = out.wrap(out.text(note), 40.0)
    assert len(lines) > 1 and " ".join(lines) == "Arrived 10 minutes late because the bus broke down on the bridge"
    doc = Document("S", "s", [f"Note:{sep}read"], [Table("Records", ["Student", "Note"], [["Zoë", f"late{sep}bus"]])])
    text_ = _pdf_text(pdf_export.to_pdf(doc))
    assert "late bus" in text_ and "latebus" not in text_ and "Note: read" in text_


def test_pdf_falls_back_to_helvetica_without_a_unicode_font(monkeypatch):
    monkeypatch.setattr(pdf_export, "FONT_CANDIDATES", ())
    doc = Document("Report: Zoë", "x", ["李雷 and Zoë"], [Table("T", ["Name"], [["李雷"], ["Zoë"]])])
    text_ = _pdf_text(pdf_export.to_pdf(doc))
    assert "Zoë" in text_ and "??" in text_


def test_wide_tables_split_across_pdf_pages():
    header = ["Student", "Number"] + [f"D{i}" for i in range(40)]
    doc = Document("Wide", "w", [], [Table("M", header, [["Zoë", "1", *["P"] * 40]], key_columns=2)])
    text_ = _pdf_text(pdf_export.to_pdf(doc))
    assert "part 3 of 3" in text_ and text_.count("Zoë") == 3 and "D39" in text_


# --- ownership --------------------------------------------------------------------------------


def test_every_report_route_is_404_for_another_teacher(school, teacher_factory):
    _alice, course, _other, ids, sessions = school
    bob = teacher_factory("Bob")
    for url in (
        f"/reports/courses/{course}",
        f"/reports/sessions/{sessions[0]}",
        f"/reports/students/{ids['zoe']}",
    ):
        assert bob.client.get(url).status_code == 404, url
        for fmt in ("csv", "xlsx", "pdf", "nonsense"):
            assert bob.client.get(f"{url}/export?format={fmt}").status_code == 404, (url, fmt)


def test_reports_need_a_login(client, school):
    _alice, course, _other, _ids, _sessions = school
    r = client.get(f"/reports/courses/{course}/export?format=csv")
    assert r.status_code == 302 and "/login" in r.location


# --- scale: a constant number of queries, and an index for the records ------------------------

STUDENTS, SESSIONS = 500, 100


def _seed_big_course(s, teacher_id: int) -> int:
    """500 students x 100 sessions = 50,000 marks, with bulk inserts."""
    course_id = s.scalar(insert(Course).values(teacher_id=teacher_id, name="Big").returning(Course.id))
    student_ids = list(
        s.scalars(
            insert(Student).returning(Student.id, sort_by_parameter_order=True),
            [
                {"teacher_id": teacher_id, "name": f"Student {i:03d}", "student_number": f"B{i}"}
                for i in range(STUDENTS)
            ],
        )
    )
    s.execute(insert(Enrollment), [{"course_id": course_id, "student_id": sid} for sid in student_ids])
    session_ids = list(
        s.scalars(
            insert(AttendanceSession).returning(AttendanceSession.id, sort_by_parameter_order=True),
            [{"course_id": course_id, "date": dt.date(2026, 1, 1) + dt.timedelta(days=i)} for i in range(SESSIONS)],
        )
    )
    statuses = (P, P, P, A, E)
    s.execute(
        insert(AttendanceRecord),
        [
            {"session_id": sess, "student_id": stu, "status": statuses[(i + j) % 5], "source": RecordSource.AUTO}
            for i, sess in enumerate(session_ids)
            for j, stu in enumerate(student_ids)
        ],
    )
    return course_id


def _seed_other_courses(s, teacher_id: int) -> None:
    """Another teacher's marks (100,000, made by the server): in a school's database one course is
    a fraction of the table, which is when an index is the right plan (on a table holding only this
    course, reading it whole is cheaper and PostgreSQL rightly does that)."""
    course_id = s.scalar(insert(Course).values(teacher_id=teacher_id, name="Other").returning(Course.id))
    params = {"t": teacher_id, "c": course_id}
    s.execute(
        text(
            "INSERT INTO students (teacher_id, name, student_number, created_at) "
            "SELECT :t, 'Other ' || g, 'O' || g, now() FROM generate_series(1, 500) g"
        ),
        params,
    )
    s.execute(
        text(
            "INSERT INTO attendance_sessions (course_id, date, label, created_at) "
            "SELECT :c, DATE '2025-01-01' + g, '', now() FROM generate_series(1, 200) g"
        ),
        params,
    )
    s.execute(
        text(
            "INSERT INTO attendance_records (session_id, student_id, status, source, updated_at) "
            "SELECT se.id, st.id, 'present', 'auto', now() FROM attendance_sessions se, students st "
            "WHERE se.course_id = :c AND st.teacher_id = :t"
        ),
        params,
    )


@pytest.fixture()
def big_course(app):
    url = _url(app)
    emails = [f"big-{uuid.uuid4().hex[:8]}@school.example.org", f"other-{uuid.uuid4().hex[:8]}@school.example.org"]
    with session_scope(url) as s:
        school = s.scalar(insert(School).values(name="Big school").returning(School.id))
        teachers = [
            s.scalar(
                insert(Teacher).values(email=e, name="Big", password_hash="x", school_id=school).returning(Teacher.id)
            )
            for e in emails
        ]
        course_id = _seed_big_course(s, teachers[0])
        _seed_other_courses(s, teachers[1])
    with engine_for(url).connect() as conn:
        conn.execute(text("ANALYZE attendance_records"))
        conn.execute(text("ANALYZE attendance_sessions"))
        conn.commit()
    yield url, course_id
    with session_scope(url) as s:
        s.execute(delete(Teacher).where(Teacher.id.in_(teachers)))
        s.execute(delete(School).where(School.id == school))


@pytest.mark.postgres
def test_course_matrix_500_x_100_uses_four_queries_and_the_index(big_course):
    url, course_id = big_course
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = engine_for(url)
    with session_scope(url) as s:
        course = s.get(Course, course_id)
        session_ids = list(s.scalars(select(AttendanceSession.id).where(AttendanceSession.course_id == course_id)))
        event.listen(engine, "before_cursor_execute", count)
        try:
            matrix = course_matrix(s, course)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) <= 5, statements
        assert len(statements) == 4  # sessions, records, faces waiting for confirmation, students
        assert len(matrix.rows) == STUDENTS and len(matrix.sessions) == SESSIONS
        assert sum(len(r.marks) for r in matrix.rows) == STUDENTS * SESSIONS
        assert all(r.rate == pytest.approx(3 / 4) for r in matrix.rows)

        compiled = records_query(session_ids).compile(engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in s.execute(text(f"EXPLAIN ANALYZE {compiled}")))
    print("\nrecords query plan (500 x 100 course among another course's 100,000 marks):\n" + plan)
    assert "uq_attendance_records_session_student" in plan, plan
    assert "Seq Scan on attendance_records" not in plan, plan


def test_pdf_headings_tell_same_day_sessions_apart_and_numbers_keep_their_decimals():
    from attendance_web.reports.pdf_export import _number
    from attendance_web.reports.queries import SessionRef
    from attendance_web.reports.tables import _short_headings

    day, other = dt.date(2026, 11, 25), dt.date(2026, 11, 26)
    sessions = [SessionRef(1, 1, day, ""), SessionRef(2, 1, day, "2"), SessionRef(3, 1, other, "Lab")]
    assert _short_headings(sessions) == ["25 Nov -", "25 Nov 2", "26 Nov"]
    assert [_number(0.868), _number(87.5), _number(100.0), _number(3)] == ["0.868", "87.5", "100", "3"]


def test_the_chart_axis_does_not_repeat_a_date():
    from attendance_web.reports.chart import _tick_text
    from attendance_web.reports.queries import SessionRef, SessionTotals, Tally

    day = dt.date(2026, 11, 25)
    totals = [SessionTotals(SessionRef(i, 1, day, label), Tally()) for i, label in enumerate(("", "2", "Lab"))]
    assert [_tick_text(totals, i) for i in range(3)] == ["2026-11-25", "· 2", "· Lab"]


def test_student_history_xlsx_names_the_student_and_the_pdf_title_does(school):
    alice, _course, _other, ids, _sessions = school
    url = f"/reports/students/{ids['zoe']}/export"
    ws = load_workbook(io.BytesIO(_download(alice.client, url, "xlsx").data))["Sessions"]
    assert [c.value for c in ws[1]][:3] == ["Student", "Number", "Date"] and ws["A2"].value == "Zoë Ångström"
    text_ = _pdf_text(_download(alice.client, url, "pdf").data)
    assert "Attendance history: Zoë Ångström (S-0)" in text_
    assert "Student Number" not in text_  # the PDF's table does not repeat the name on every row


@pytest.mark.fonts
def test_pdf_titles_are_left_aligned_not_justified():
    """A long name wrapped a justified title as "Attendance           history:" (fpdf2 justifies by default)."""
    name = "Wolfeschlegelsteinhausenbergerdorff" * 3
    doc = Document(
        title=f"Attendance history: {name} (N-1)",
        filename_stem="x",
        tables=[Table(f"Sessions of {name} and more words", ["Date"], [["2026-10-01"]])],
    )
    page = PdfReader(io.BytesIO(pdf_export.to_pdf(doc))).pages[0]
    lines: list[str] = []
    page.extract_text(visitor_text=lambda t, *_: lines.append(t) if t.strip() else None)
    assert "Attendance history:" in lines and "and more words" in lines, lines
    # Justification is drawn as TJ with a word-spacing adjustment; left-aligned lines are plain Tj strings.
    assert b"TJ" not in page.get_contents().get_data()
