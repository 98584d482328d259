"""Late: marked by hand on the review page, counted as attended in every rate, and listed apart from present in every
report, export and in the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from attendance_shared.db import session_scope
from attendance_shared.models import (
    AttendanceChange,
    AttendanceRecord,
    AttendanceSession,
    AttendanceStatus,
    Course,
    RecordSource,
)
from attendance_web.reports.queries import RATE_DEFINITION, Tally, attendance_rate, course_matrix
from tests.factories import db_url, seed_session
from tests.web.test_api import Api, assert_matches, make_token

P, L, A, E = AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED
DATES = [dt.date(2026, 10, 1), dt.date(2026, 10, 8), dt.date(2026, 10, 15)]
# One mark per date. Lea: 2 late + 1 absent = 2 / 3 attended; Pat: present, late, excused = 2 / 2.
MARKS = {"Lea Late": [L, A, L], "Pat Prompt": [P, L, E], "Abe Away": [A, A, P]}


def text(html: str) -> str:
    """What a reader sees: tags removed, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


@pytest.fixture()
def course(app, teacher):
    """A course with three students and three sessions of marks, late ones among them (by hand, with a note)."""
    course_id = teacher.create_course("History")
    ids = {name: teacher.add_student(course_id, name, f"H-{i}") for i, name in enumerate(MARKS, start=1)}
    sessions = []
    with session_scope(db_url(app)) as s:
        for day, date in enumerate(DATES):
            att = AttendanceSession(course_id=course_id, date=date, label=f"Period {day + 1}")
            s.add(att)
            s.flush()
            sessions.append(att.id)
            for name, marks in MARKS.items():
                manual = marks[day] in (L, E)
                record = AttendanceRecord(
                    session_id=att.id,
                    student_id=ids[name],
                    status=marks[day],
                    source=RecordSource.MANUAL if manual else RecordSource.AUTO,
                )
                s.add(record)
                s.flush()
                if marks[day] == L:
                    s.add(AttendanceChange(record_id=record.id, from_status="absent", to_status="late", note="Bus"))
    return course_id, ids, sessions


# --- the rate --------------------------------------------------------------------------------------


def test_late_counts_as_attended_in_the_one_rate_definition():
    assert attendance_rate(1, 1, 2) == 0.5  # (present + late) / (present + late + absent)
    assert attendance_rate(0, 2, 0) == 1.0
    assert attendance_rate(0, 0, 0) is None
    tally = Tally.of([P, L, L, A, E, None])
    assert (tally.present, tally.late, tally.absent, tally.excused, tally.not_recorded) == (1, 2, 1, 1, 1)
    assert tally.attended == 3 and tally.rate == 0.75
    assert "late" in RATE_DEFINITION


def test_course_matrix_counts_late_apart_and_as_attended(app, course):
    course_id, ids, _sessions = course
    with session_scope(db_url(app)) as s:
        m = course_matrix(s, s.get(Course, course_id))
    rows = {r.student.id: r for r in m.rows}
    lea, pat = rows[ids["Lea Late"]], rows[ids["Pat Prompt"]]
    assert lea.marks == MARKS["Lea Late"]
    assert (lea.tally.present, lea.tally.late, lea.tally.absent) == (0, 2, 1)
    assert lea.rate == pytest.approx(2 / 3) and pat.rate == 1.0  # not 0 and 1/2, as present alone would give
    assert [t.tally.late for t in m.totals] == [1, 1, 1]
    assert m.tally.late == 3 and m.tally.present == 2


# --- the pages -------------------------------------------------------------------------------------


def test_the_report_pages_list_late_apart(teacher, course):
    course_id, ids, sessions = course
    session_page = teacher.client.get(f"/reports/sessions/{sessions[0]}").get_data(as_text=True)
    assert "Late (1)" in text(session_page) and "<dt>Late</dt><dd>1</dd>" in session_page
    late_section = text(session_page).split("Late (1)")[1].split("Absent (")[0]
    assert "Lea Late" in late_section and "Bus" in late_section  # the note, as for excused

    course_page = teacher.client.get(f"/reports/courses/{course_id}").get_data(as_text=True)
    assert course_page.count('<td class="m late">L</td>') == 3
    assert "L = late (counts as attended)" in course_page
    assert "2 attended of 3, 2 of them late" in text(course_page)  # Lea, below 80%
    assert '<th scope="col">Late</th>' in course_page  # the chart's table
    assert "share of students present (late included)" in course_page  # the chart's description

    history = text(teacher.client.get(f"/reports/students/{ids['Lea Late']}").get_data(as_text=True))
    assert "present 0, late 2, absent 1" in history and "66.7%" in history
    assert '<span class="badge late">late</span>' in teacher.client.get(
        f"/reports/students/{ids['Lea Late']}"
    ).get_data(as_text=True)


def _csv(client, url: str) -> list[list[str]]:
    r = client.get(url)
    assert r.status_code == 200, r.data[:300]
    return list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))


def test_every_export_lists_late_apart(teacher, course):
    course_id, ids, sessions = course
    rows = _csv(teacher.client, f"/reports/courses/{course_id}/export?format=csv")
    header = rows[0]
    lea = next(row for row in rows if row[0] == "Lea Late")
    assert header[2:8] == ["Present", "Late", "Absent", "Excused", "Rate %", "Below 80%"]
    assert lea[2:6] == ["0", "2", "1", "0"] and lea[6] == "66.7" and lea[-3:] == ["L", "A", "L"]

    session_rows = _csv(teacher.client, f"/reports/sessions/{sessions[0]}/export?format=csv")
    status = session_rows[0].index("Status")
    assert {row[0]: row[status] for row in session_rows[1:]}["Lea Late"] == "late"

    history = _csv(teacher.client, f"/reports/students/{ids['Lea Late']}/export?format=csv")
    status = history[0].index("Status")
    assert [row[status] for row in history[1:]] == ["late", "absent", "late"]  # newest first

    xlsx = teacher.client.get(f"/reports/courses/{course_id}/export?format=xlsx").data
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    sheet = [list(r) for r in book[book.sheetnames[0]].iter_rows(values_only=True)]
    assert sheet[0][3] == "Late" and next(r for r in sheet if r[0] == "Lea Late")[3] == 2
    over_time = [list(r) for r in book[book.sheetnames[1]].iter_rows(values_only=True)]
    assert over_time[0][3] == "Late" and [r[3] for r in over_time[1:]] == [1, 1, 1]
    about = " ".join(str(r[0]) for r in book[book.sheetnames[-1]].iter_rows(values_only=True))
    assert "late" in about.lower() and RATE_DEFINITION in about

    pdf = teacher.client.get(f"/reports/sessions/{sessions[0]}/export?format=pdf").data
    pdf_text = " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Present 1, late 1, absent 1" in pdf_text and "late" in pdf_text.split("Lea Late")[1][:40]


# --- the API ---------------------------------------------------------------------------------------


def test_the_api_reports_late_as_its_own_status(app, teacher, course):
    course_id, _ids, sessions = course
    api = Api(app, make_token(teacher))
    body = api.get(f"/api/v1/courses/{course_id}/report").get_json()
    assert_matches(body, "CourseReport")
    lea = next(row for row in body["students"] if row["name"] == "Lea Late")
    assert lea["attendance"] == ["late", "absent", "late"]
    assert (lea["present"], lea["late"], lea["absent"], lea["rate"]) == (0, 2, 1, 0.6667)

    detail = api.get(f"/api/v1/sessions/{sessions[0]}").get_json()
    assert_matches(detail, "SessionDetail")
    statuses = {rec["name"]: (rec["status"], rec["source"]) for rec in detail["records"]}
    assert statuses["Lea Late"] == ("late", "manual")


# --- marking late by hand --------------------------------------------------------------------------


def _row(html: str, student_id: int) -> str:
    start = html.index(f'id="student-{student_id}"')
    return html[start : html.index("</li>", html.index("</form>", start))]


def test_the_review_page_marks_a_student_late_with_a_note(app, teacher):
    seeded = seed_session(app, teacher)
    ben = seeded.students["Ben"]
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    buttons = re.findall(r'name="status" value="(\w+)"', _row(page, ben))
    assert buttons == ["present", "late", "absent", "excused"]
    assert '<option value="late"' in _row(page, ben)

    r = teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{ben}/mark", data={"status": "late", "note": "Missed the bus"}
    )
    assert r.status_code in (200, 302, 303)
    with session_scope(db_url(app)) as s:
        record = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == seeded.session_id, AttendanceRecord.student_id == ben
            )
        )
        assert (record.status, record.source, record.detected_face_id) == (L, RecordSource.MANUAL, None)
    page = teacher.client.get(f"/sessions/{seeded.session_id}").get_data(as_text=True)
    row = _row(page, ben)
    assert re.search(r'value="late" aria-pressed="true"', row)
    assert '<span class="badge late">late</span>' in row
    assert "Missed the bus" in text(row)  # the note shows on the student's row
    assert '<span class="badge late">1 late</span>' in page
    assert "2 of 3 students" not in page  # (the summary badges count each status once)


def test_late_counts_as_present_on_the_dashboard_and_the_take_attendance_page(app, teacher):
    seeded = seed_session(app, teacher)
    with session_scope(db_url(app)) as s:
        s.get(AttendanceSession, seeded.session_id).date = dt.date.today()
    teacher.client.post(
        f"/sessions/{seeded.session_id}/students/{seeded.students['Cat']}/mark", data={"status": "late"}
    )
    page = text(teacher.client.get("/").get_data(as_text=True))
    assert "2 of 3 present (1 late)" in page
    status = teacher.client.get(f"/sessions/{seeded.session_id}/status.json").get_json()
    assert status["present"] == 2  # the take-attendance page's "N present" counts late too
